"""The bot's conversations as use cases: joining, /profile, /leave, the meeting follow-up and
the block button. Each step is one transaction on the chat's ``conversation`` row, so a step
is taken once (buttons carry the step's version) and an interrupted conversation resumes
where it stopped (docs/adr/020-telegram-conversations.md).

Steps answer a ``Screen``: what to show (the pressed message is edited, a typed answer gets a
new message) and what to say on the button itself."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from notifier_service import service
from notifier_service.adapters.db.bot_repository import BotRepository
from notifier_service.adapters.db.repository import NotifierRepository
from notifier_service.adapters.db.tables import Conversation, FollowUp, OutgoingMessage
from notifier_service.domain import conversation as flow
from notifier_service.domain import texts
from notifier_service.domain.keyboards import Rows, follow_up_keyboard, keyboard
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import AccountDeleted, MeetingFeedback, PartnerBlocked
from unimatch_shared.inbox import applied_once
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import (
    DeleteAccount,
    JoinByTelegram,
    ProfileOf,
    SetHobbies,
    SetPause,
)
from unimatch_shared.unit_of_work import UnitOfWork

# The hobby catalog, id -> name, in id order.
Catalog = dict[int, str]
MEETING_ANSWERS: dict[str, Literal["yes", "not_yet", "no"]] = {
    "yes": "yes",
    "notyet": "not_yet",
    "no": "no",
}
PAUSES = {"p7": 7, "p14": 14, "pinf": None}
# How long handled update ids are remembered: Telegram keeps undelivered updates for a day.
UPDATES_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Screen:
    """``text`` None: show nothing new (a repeated or stale step); ``toast`` goes on the
    pressed button."""

    text: str | None = None
    keyboard: dict | None = None
    toast: str | None = None


@dataclass(frozen=True)
class Person:
    """Who is writing: the chat and Telegram's account of the sender."""

    chat_id: int
    telegram_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


STALE = Screen(toast=texts.STALE_BUTTON)


# Rendering a step
def _hobby_picker(conv: Conversation, catalog: Catalog, question: str, done: str) -> Screen:
    chosen = set(conv.draft.get("hobby", []))
    page = flow.clamp_page(conv.draft.get("page", 0), len(catalog))
    pages = flow.page_count(len(catalog))
    start = page * flow.HOBBIES_PER_PAGE
    shown = list(catalog.items())[start : start + flow.HOBBIES_PER_PAGE]
    v = conv.version
    rows: Rows = [
        [
            (texts.hobby_button(name, hobby_id in chosen), flow.callback("h", v, "t", hobby_id))
            for hobby_id, name in shown[i : i + 2]
        ]
        for i in range(0, len(shown), 2)
    ]
    nav = []
    if page > 0:
        nav.append((texts.BUTTON_PREVIOUS, flow.callback("h", v, "pg", page - 1)))
    if page < pages - 1:
        nav.append((texts.BUTTON_NEXT, flow.callback("h", v, "pg", page + 1)))
    rows += [nav, [(done, flow.callback("h", v, "done"))]]
    if conv.state in flow.JOIN_STATES:
        rows.append([(texts.BUTTON_CANCEL, flow.callback("j", v, "cancel"))])
    text = texts.hobby_page(question, page, pages, len(chosen))
    return Screen(text, keyboard(rows))


def render(conv: Conversation, catalog: Catalog, note: str | None = None) -> Screen:
    """The step a conversation is at, as the bot shows it (``note`` above the question)."""
    draft, v = conv.draft, conv.version
    cancel = [(texts.BUTTON_CANCEL, flow.callback("j", v, "cancel"))]
    screen: Screen
    if conv.state == flow.JOIN_NAME:
        first, last = draft.get("first_name", ""), draft.get("last_name", "")
        keep = [(texts.keep_name(first, last), flow.callback("j", v, "keep"))] if first else []
        screen = Screen(texts.ask_name(first, last), keyboard([keep, cancel]))
    elif conv.state == flow.JOIN_HOBBIES:
        screen = _hobby_picker(conv, catalog, texts.ASK_HOBBIES, texts.BUTTON_DONE)
    elif conv.state == flow.EDIT_HOBBIES:
        screen = _hobby_picker(conv, catalog, texts.EDIT_HOBBIES, texts.BUTTON_SAVE)
    elif conv.state == flow.JOIN_EMAIL:
        skip = [(texts.BUTTON_SKIP, flow.callback("j", v, "skip"))]
        screen = Screen(texts.ASK_EMAIL, keyboard([skip, cancel]))
    elif conv.state == flow.JOIN_CONFIRM:
        names = [catalog.get(h, str(h)) for h in draft.get("hobby", [])]
        text = texts.confirm_join(
            draft["first_name"], draft["last_name"], names, draft.get("email")
        )
        create = [(texts.BUTTON_CREATE, flow.callback("j", v, "create"))]
        screen = Screen(text, keyboard([create, cancel]))
    elif conv.state == flow.JOIN_SUBMITTING:
        # No Cancel: auth may have made the account already; only finishing links it.
        retry = [(texts.BUTTON_RETRY, flow.callback("j", v, "retry"))]
        screen = Screen(texts.JOIN_RETRY, keyboard([retry]))
    else:  # FEEDBACK_COMMENT
        skip = [(texts.BUTTON_SKIP, flow.callback("fc", draft["group_id"], "skip"))]
        screen = Screen(texts.ASK_COMMENT, keyboard([skip]))
    if note:
        return Screen(f"{note}\n\n{screen.text}", screen.keyboard)
    return screen


def _advance(conv: Conversation, state: str, **draft: Any) -> None:
    conv.state = state
    conv.draft = {**conv.draft, **draft}
    conv.version += 1


async def _replace_conversation(repo: BotRepository, person: Person) -> Conversation:
    """The chat's conversation row, locked, for a new exchange to take over (its version
    goes on, so the old exchange's buttons are stale)."""
    conv = await repo.conversation(person.chat_id)
    if conv is None:
        conv = Conversation(chat_id=person.chat_id, state="", draft={}, version=0)
    conv.draft = {}
    return conv


async def _linked_user(uow: UnitOfWork, chat_id: int) -> int | None:
    link = await NotifierRepository(uow.session).link_by_chat(chat_id)
    return link.user_id if link else None


async def _commit_step(
    uow: UnitOfWork,
    repo: BotRepository,
    conv: Conversation,
    catalog: Catalog,
    note: str | None = None,
) -> Screen:
    """Save the conversation at the step it has advanced to and commit: the step's screen."""
    await repo.save_conversation(conv)
    screen = render(conv, catalog, note)
    await uow.commit()
    return screen


# Joining
async def begin_join(uow: UnitOfWork, person: Person, catalog: Catalog) -> Screen:
    """``/start`` or the Join button in an unlinked chat: a new join, or the one under way."""
    async with uow:
        if await _linked_user(uow, person.chat_id) is not None:
            return Screen(texts.ALREADY_MEMBER)
        repo = BotRepository(uow.session)
        conv = await repo.conversation(person.chat_id)
        if conv is not None and conv.state in flow.JOIN_STATES:
            return render(conv, catalog, texts.JOIN_RESUMED)
        first, last = flow.prefill_name(person.first_name, person.last_name)
        conv = await _replace_conversation(repo, person)
        _advance(conv, flow.JOIN_NAME, first_name=first, last_name=last, hobby=[], page=0)
        return await _commit_step(uow, repo, conv, catalog)


async def first_delivery_of_update(uow: UnitOfWork, update_id: int) -> bool:
    """Telegram may deliver an update again; only its first delivery is handled. Marked
    before the handler runs: a crash in between loses that update (the person repeats it)
    rather than taking it twice."""
    async with uow:
        first = await BotRepository(uow.session).take_update(update_id, UPDATES_KEPT)
        await uow.commit()
    return first


def join_offer() -> Screen:
    join = [(texts.BUTTON_JOIN, flow.callback("j", 0, "begin"))]
    return Screen(texts.JOIN_OFFER, keyboard([join]))


async def pending_state(uow: UnitOfWork, chat_id: int) -> str | None:
    """The state of the chat's conversation, if any."""
    async with uow:
        conv = await BotRepository(uow.session).conversation(chat_id)
        return conv.state if conv else None


async def typed(uow: UnitOfWork, person: Person, text: str, catalog: Catalog) -> Screen | None:
    """A typed answer: a name, an email or a meeting's comment; None if none is expected."""
    async with uow:
        repo = BotRepository(uow.session)
        conv = await repo.conversation(person.chat_id)
        if conv is None or conv.state not in flow.TEXT_STATES:
            return None
        try:
            if conv.state == flow.JOIN_NAME:
                first, last = flow.parse_name(text)
                _advance(conv, flow.JOIN_HOBBIES, first_name=first, last_name=last)
            elif conv.state == flow.JOIN_EMAIL:
                _advance(conv, flow.JOIN_CONFIRM, email=flow.parse_email(text))
            else:
                screen = await _comment(uow, repo, conv, person, flow.parse_comment(text))
                await uow.commit()
                return screen
        except flow.Refused as refusal:
            return await _commit_step(uow, repo, conv, catalog, texts.REFUSALS[str(refusal)])
        return await _commit_step(uow, repo, conv, catalog)


async def join_press(
    uow: UnitOfWork, messaging: Messaging, person: Person, press: flow.Press, catalog: Catalog
) -> Screen:
    """A join button: keep the name, skip the email, create, retry, cancel."""
    if press.action == "begin":
        return await begin_join(uow, person, catalog)
    async with uow:
        repo = BotRepository(uow.session)
        conv = await repo.conversation(person.chat_id)
        if not conv or conv.state not in flow.JOIN_STATES or press.ref != conv.version:
            return STALE
        if press.action == "cancel" and conv.state != flow.JOIN_SUBMITTING:
            await repo.end_conversation(person.chat_id)
            await uow.commit()
            return Screen(texts.JOIN_CANCELLED)
        if press.action == "keep" and conv.state == flow.JOIN_NAME and conv.draft["first_name"]:
            _advance(conv, flow.JOIN_HOBBIES)
        elif press.action == "skip" and conv.state == flow.JOIN_EMAIL:
            _advance(conv, flow.JOIN_CONFIRM, email=None)
        elif press.action == "create" and conv.state == flow.JOIN_CONFIRM:
            _advance(conv, flow.JOIN_SUBMITTING)
        elif press.action != "retry" or conv.state != flow.JOIN_SUBMITTING:
            return STALE
        screen = await _commit_step(uow, repo, conv, catalog)
    if conv.state == flow.JOIN_SUBMITTING:
        return await submit_join(uow, messaging, person, catalog)
    return screen


async def submit_join(
    uow: UnitOfWork, messaging: Messaging, person: Person, catalog: Catalog
) -> Screen:
    """Ask auth for the account, then link the chat and end the conversation, in one
    transaction that holds the conversation row: a second submit waits, then finds nothing
    to do. Auth answers the same account when asked again, so a crash anywhere here leaves
    a join that the next /start (or Retry) finishes, never a second account."""
    async with uow:
        repo = BotRepository(uow.session)
        conv = await repo.conversation(person.chat_id)
        if conv is None or conv.state != flow.JOIN_SUBMITTING:
            return Screen()
        if await _linked_user(uow, person.chat_id) is not None:  # linked meanwhile (deep link)
            await repo.end_conversation(person.chat_id)
            await uow.commit()
            return Screen(texts.ALREADY_MEMBER)
        draft = conv.draft
        request = JoinByTelegram(
            telegram_id=person.telegram_id,
            first_name=draft["first_name"],
            last_name=draft["last_name"],
            hobby=draft["hobby"],
            email=draft.get("email"),
        )
        try:
            reply = await messaging.request(request)
        except ServiceUnavailable:
            return render(conv, catalog)
        if reply.errors or reply.user_id is None:
            errors = reply.errors or {}
            back = flow.JOIN_EMAIL if "email" in errors else flow.JOIN_CONFIRM
            back = flow.JOIN_HOBBIES if "hobby" in errors else back
            _advance(conv, back)
            await repo.save_conversation(conv)
            question = render(conv, catalog)
            await uow.commit()
            return Screen(texts.join_errors(errors, question.text or ""), question.keyboard)
        try:
            await service.link_chat(uow, reply.user_id, person.chat_id, person.username)
        except service.ChatTaken:
            await repo.end_conversation(person.chat_id)
            await uow.commit()
            return Screen(texts.CHAT_TAKEN)
        await repo.end_conversation(person.chat_id)
        await uow.commit()
    if not reply.created:  # this Telegram user's account existed: linked again
        return Screen(texts.LINKED)
    return Screen(texts.joined(draft["first_name"]))


# The hobby picker (joining, or /profile's change)
async def hobby_press(
    uow: UnitOfWork, messaging: Messaging, person: Person, press: flow.Press, catalog: Catalog
) -> Screen:
    async with uow:
        repo = BotRepository(uow.session)
        conv = await repo.conversation(person.chat_id)
        if not conv or conv.state not in {flow.JOIN_HOBBIES, flow.EDIT_HOBBIES}:
            return STALE
        if press.ref != conv.version:
            return STALE
        chosen = conv.draft.get("hobby", [])
        if press.action == "t" and press.arg is not None:
            _advance(conv, conv.state, hobby=flow.toggle_hobby(chosen, press.arg, set(catalog)))
        elif press.action == "pg" and press.arg is not None:
            _advance(conv, conv.state, page=flow.clamp_page(press.arg, len(catalog)))
        elif press.action == "done":
            if not chosen:
                return Screen(toast=texts.CHOOSE_ONE)
            if conv.state == flow.EDIT_HOBBIES:
                return await _save_hobbies(uow, messaging, repo, conv)
            _advance(conv, flow.JOIN_EMAIL)
        else:
            return STALE
        return await _commit_step(uow, repo, conv, catalog)


async def _save_hobbies(
    uow: UnitOfWork, messaging: Messaging, repo: BotRepository, conv: Conversation
) -> Screen:
    user_id = await _linked_user(uow, conv.chat_id)
    if user_id is None:
        await repo.end_conversation(conv.chat_id)
        await uow.commit()
        return Screen(texts.NOT_A_MEMBER)
    request = SetHobbies(user_id=user_id, hobby=conv.draft["hobby"])
    try:
        reply = await messaging.request(request)
    except ServiceUnavailable:
        return Screen(toast=texts.UNAVAILABLE)
    await repo.end_conversation(conv.chat_id)
    await uow.commit()
    return Screen(texts.HOBBIES_REFUSED if reply.errors else texts.HOBBIES_SAVED)


# /profile
async def show_profile(
    messaging: Messaging, user_id: int, catalog: Catalog, note: str | None = None
) -> Screen:
    reply = await messaging.request(ProfileOf(user_id=user_id))
    if reply.user is None:
        return Screen(texts.NOT_A_MEMBER)
    user = reply.user
    email = user["email"] if not user["email"].endswith(".invalid") else None
    text = texts.profile(user, [catalog.get(h, str(h)) for h in user["hobby"]], email)
    pause = [
        (texts.BUTTON_PAUSE_WEEK, flow.callback("p", 0, "p7")),
        (texts.BUTTON_PAUSE_TWO_WEEKS, flow.callback("p", 0, "p14")),
    ]
    rows: Rows = [[(texts.BUTTON_CHANGE_HOBBIES, flow.callback("p", 0, "hobbies"))]]
    if user["paused"]:
        rows.append([(texts.BUTTON_RESUME, flow.callback("p", 0, "resume"))])
    else:
        rows += [pause, [(texts.BUTTON_PAUSE_OPEN, flow.callback("p", 0, "pinf"))]]
    return Screen(f"{note}\n\n{text}" if note else text, keyboard(rows))


async def profile_press(
    uow: UnitOfWork,
    messaging: Messaging,
    person: Person,
    press: flow.Press,
    catalog: Catalog,
    now: datetime,
) -> Screen:
    """/profile's buttons: change hobbies, pause for a while or until resumed, resume."""
    async with uow:
        user_id = await _linked_user(uow, person.chat_id)
    if user_id is None:
        return Screen(toast=texts.NOT_A_MEMBER)
    if press.action == "hobbies":
        reply = await messaging.request(ProfileOf(user_id=user_id))
        if reply.user is None:
            return Screen(texts.NOT_A_MEMBER)
        async with uow:
            repo = BotRepository(uow.session)
            conv = await _replace_conversation(repo, person)
            _advance(conv, flow.EDIT_HOBBIES, hobby=sorted(reply.user["hobby"]), page=0)
            return await _commit_step(uow, repo, conv, catalog)
    if press.action == "resume":
        request = SetPause(user_id=user_id, paused=False)
    elif press.action in PAUSES:
        days = PAUSES[press.action]
        until = (now + timedelta(days=days)).date() if days else None
        request = SetPause(user_id=user_id, paused=True, until=until)
    else:
        return STALE
    reply = await messaging.request(request)
    if reply.errors:
        return Screen(toast=texts.PAUSE_REFUSED)
    note = texts.RESUMED if press.action == "resume" else texts.paused(request.until)
    return await show_profile(messaging, user_id, catalog, note)


# /leave
def leave_question() -> Screen:
    rows: Rows = [
        [(texts.BUTTON_LEAVE, flow.callback("lv", 0, "yes"))],
        [(texts.BUTTON_STAY, flow.callback("lv", 0, "no"))],
    ]
    return Screen(texts.LEAVE_CONFIRM, keyboard(rows))


async def leave_press(
    uow: UnitOfWork, messaging: Messaging, person: Person, press: flow.Press
) -> Screen:
    """Confirmed: auth deletes the account and publishes ``account.deleted``; the chat is
    forgotten here at once too, so the bot treats it as new straight away."""
    if press.action == "no":
        return Screen(texts.STAYED)
    if press.action != "yes":
        return STALE
    async with uow:
        # The link stays locked until the chat is forgotten: a second tap waits, then finds
        # no account here.
        user_id = await _linked_user(uow, person.chat_id)
        if user_id is None:
            return STALE
        await messaging.request(DeleteAccount(user_id=user_id))
        await BotRepository(uow.session).forget(user_id, datetime.now(UTC))
        await uow.commit()
    return Screen(texts.LEFT)


@applied_once(service.CONSUMER)
async def on_account_deleted(uow: UnitOfWork, event: AccountDeleted) -> None:
    """Forget the person: their chat, conversation, follow-ups, blocks, queued messages and
    the mails not yet sent to them (their recipient row goes with the members)."""
    await BotRepository(uow.session).forget(event.user_id, event.occurred_at)
    await NotifierRepository(uow.session).cancel_mails(event.user_id)


# The meeting follow-up
async def on_meeting_feedback(uow: UnitOfWork, event: MeetingFeedback) -> None:
    """An answer given before the follow-up went out (on the web): the member is not asked.
    Once asked, the bot's own answers keep the follow-up's state (its events come back here
    too, possibly after a newer answer, and must not undo it). An answer that arrives before
    the match itself leaves an answered follow-up for the match to find. Nothing is kept
    for an account deleted meanwhile."""
    async with uow:
        repo = BotRepository(uow.session)
        if await repo.is_deleted(event.user_id):
            return
        await repo.record_answer(
            FollowUp(
                group_id=event.group_id,
                user_id=event.user_id,
                round_id=event.round_id,
                due_at=event.occurred_at,
                status="answered",
                met=event.met,
                rating=event.rating,
            )
        )
        await uow.commit()


async def queue_due_follow_ups(uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Put the follow-ups due by ``now`` in the message outbox (linked members) in one
    transaction with their status; returns how many were queued."""
    async with uow:
        repo = BotRepository(uow.session)
        notifier = NotifierRepository(uow.session)
        due = await repo.due_follow_ups(now, limit)
        links = await notifier.links_of([f.user_id for f in due])
        queued = 0
        for follow_up in due:
            link = links.get(follow_up.user_id)
            match = await repo.match(follow_up.user_id, follow_up.group_id)
            if link is None or match is None:
                follow_up.status = "skipped"
            else:
                follow_up.status = "asked"
                await notifier.add_message(
                    OutgoingMessage(
                        idempotency_key=f"follow-up:{follow_up.group_id}:{link.chat_id}",
                        user_id=follow_up.user_id,
                        chat_id=link.chat_id,
                        text=texts.follow_up(match.partners),
                        reply_markup=follow_up_keyboard(follow_up.group_id),
                    )
                )
                queued += 1
            uow.session.add(follow_up)
        await uow.commit()
    return queued


async def _answerable(repo: BotRepository, user_id: int, group_id: int) -> FollowUp | Screen:
    """The member's asked follow-up of this group, or why it cannot be answered: not theirs
    (forged), or about a meeting before their latest match (stale)."""
    follow_up = await repo.follow_up(group_id, user_id)
    if follow_up is None or follow_up.status != "asked":
        return Screen(toast=texts.BUTTON_UNAVAILABLE)
    latest = await repo.latest_match(user_id)
    if latest is not None and latest.group_id != group_id:
        return Screen(texts.FOLLOW_UP_STALE, toast=texts.FOLLOW_UP_STALE)
    return follow_up


def _feedback(follow_up: FollowUp, comment: str = "") -> MeetingFeedback:
    return MeetingFeedback(
        user_id=follow_up.user_id,
        round_id=follow_up.round_id,
        group_id=follow_up.group_id,
        met=follow_up.met,
        rating=follow_up.rating,
        comment=comment,
    )


async def meeting_press(uow: UnitOfWork, person: Person, press: flow.Press) -> Screen:
    """Met / Not yet / Won't happen, a rating, or skipping the comment; each new answer is
    published as ``meeting.feedback`` with its step, a repeated one publishes nothing."""
    async with uow:
        user_id = await _linked_user(uow, person.chat_id)
        if user_id is None:
            return Screen(toast=texts.NOT_A_MEMBER)
        repo = BotRepository(uow.session)
        found = await _answerable(repo, user_id, press.ref)
        if isinstance(found, Screen):
            return found
        follow_up = found
        if press.kind == "fb" and press.action in MEETING_ANSWERS:
            met = MEETING_ANSWERS[press.action]
            if follow_up.met == met:
                return Screen()
            follow_up.met, follow_up.rating = met, None
            uow.emit(_feedback(follow_up))
            if met == "yes":
                rows: Rows = [
                    [(str(n), flow.callback("fr", follow_up.group_id, "r", n)) for n in range(1, 6)]
                ]
                screen = Screen(texts.ASK_RATING, keyboard(rows))
            else:
                screen = Screen(texts.FEEDBACK_THANKS)
        elif press.kind == "fr" and press.arg in range(1, 6) and follow_up.met == "yes":
            if follow_up.rating == press.arg:
                return Screen()
            follow_up.rating = press.arg
            uow.emit(_feedback(follow_up))
            conv = await _replace_conversation(repo, person)
            _advance(conv, flow.FEEDBACK_COMMENT, group_id=follow_up.group_id)
            await repo.save_conversation(conv)
            screen = render(conv, {})
        elif press.kind == "fc" and press.action == "skip":
            conv = await repo.conversation(person.chat_id)
            if conv is None or conv.state != flow.FEEDBACK_COMMENT:
                return Screen()
            await repo.end_conversation(person.chat_id)
            screen = Screen(texts.FEEDBACK_THANKS)
        else:
            return STALE
        uow.session.add(follow_up)
        await uow.commit()
    return screen


async def _comment(
    uow: UnitOfWork, repo: BotRepository, conv: Conversation, person: Person, comment: str
) -> Screen:
    """The comment typed after a rating: published with it, and the conversation ends."""
    await repo.end_conversation(person.chat_id)
    user_id = await _linked_user(uow, person.chat_id)
    follow_up = None
    if user_id is not None:
        found = await _answerable(repo, user_id, conv.draft["group_id"])
        follow_up = found if isinstance(found, FollowUp) else None
    if follow_up is None or follow_up.met != "yes":
        return Screen(texts.FOLLOW_UP_STALE)
    if comment:
        uow.emit(_feedback(follow_up, comment))
    return Screen(texts.FEEDBACK_THANKS)


# Never again
async def block_press(uow: UnitOfWork, person: Person, press: flow.Press) -> Screen:
    """Only a partner of the presser's own match can be blocked; the partner is not told."""
    async with uow:
        user_id = await _linked_user(uow, person.chat_id)
        if user_id is None:
            return Screen(toast=texts.NOT_A_MEMBER)
        repo = BotRepository(uow.session)
        match = await repo.match(user_id, press.ref)
        partner = next(
            (
                p
                for p in (match.partners if match else [])
                if p.get("id") is not None and p.get("id") == press.arg
            ),
            None,
        )
        if partner is None or press.action != "u" or press.arg == user_id:
            return Screen(toast=texts.BUTTON_UNAVAILABLE)
        if await repo.add_block(user_id, partner["id"]):
            uow.emit(PartnerBlocked(user_id=user_id, blocked_user_id=partner["id"]))
        await uow.commit()
    text = texts.blocked(partner)
    return Screen(text, toast=texts.label(text))
