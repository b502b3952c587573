"""The notifier service layer: each use case is one function over a unit of work."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy.exc import IntegrityError

from notifier_service.adapters.db.bot_repository import BotRepository
from notifier_service.adapters.db.repository import NotifierRepository
from notifier_service.adapters.db.tables import (
    DELETED_PARTNER,
    FollowUp,
    LinkCode,
    Member,
    OutgoingMessage,
    PairView,
)
from notifier_service.domain import texts
from notifier_service.domain.keyboards import block_keyboard
from notifier_service.domain.widget import is_valid_login
from notifier_service.mail.compose import MailComposer
from notifier_service.metrics import ANNOUNCEMENTS_SKIPPED_UNLINKED
from unimatch_shared.auth import Principal
from unimatch_shared.channels import effective_channels
from unimatch_shared.errors import ValidationFailed
from unimatch_shared.events import (
    PairCreated,
    ProfileChanged,
    RoundSkipped,
    TelegramLinked,
    TelegramUnlinked,
)
from unimatch_shared.inbox import applied_once
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import ApplyTelegramLink, TelegramUserReply
from unimatch_shared.unit_of_work import UnitOfWork

CONSUMER = "notifier"
INVALID_LOGIN = "Telegram authorization is invalid or expired."
CHAT_TAKEN = "This Telegram account is already linked to another user."
UNKNOWN_EMAIL = "No user with this email address."

log = logging.getLogger(__name__)


class ChatTaken(Exception):
    """The Telegram chat is linked to another user already."""


def messages_or_mail_for(channels: list[str], linked: bool) -> bool:
    """Whether a member with these channels in force hears anything at all."""
    return "email" in channels or ("telegram" in channels and linked)


@dataclass(frozen=True)
class Queued:
    """What consuming one event queued: Telegram messages and mails."""

    messages: int = 0
    mails: int = 0


class CodeOutcome(Enum):
    LINKED = "linked"
    INVALID = "invalid"
    CHAT_TAKEN = "chat_taken"


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@applied_once(CONSUMER)
async def on_profile_changed(uow: UnitOfWork, event: ProfileChanged) -> None:
    """Keep the member's name, email and channels; not for an account deleted meanwhile."""
    repo = NotifierRepository(uow.session)
    if await repo.deleted_among([event.user_id]):
        return
    member = Member(
        changed_at=event.occurred_at, **event.model_dump(include=set(Member.model_fields))
    )
    await repo.upsert_member(member)


async def on_pair_created(
    uow: UnitOfWork,
    event: PairCreated,
    mail: MailComposer,
    follow_up_delay: timedelta | None = None,
) -> Queued:
    """Record the match, queue each member's announcement on the channels they chose
    (docs/adr/021-email-delivery.md): a Telegram message (with the buttons to block each
    partner) if Telegram is on and linked, a mail if email is on; and schedule the members'
    follow-ups. A member whose account was deleted meanwhile is told nothing, and is the
    deleted user in the others' view.

    Everything is written in the same transaction that marks the event consumed, so a crash
    either keeps both or neither.
    """
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return Queued()
        repo = NotifierRepository(uow.session)
        user_ids = [m.id for m in event.members]
        deleted = await repo.deleted_among(user_ids)
        links = await repo.links_of(user_ids)
        recipients = await repo.members_of(user_ids)
        people = {
            m.id: DELETED_PARTNER
            if m.id in deleted
            else {
                **m.model_dump(include={"id", "first_name", "last_name", "email"}),
                "username": links[m.id].username if m.id in links else None,
            }
            for m in event.members
        }
        messages = mails = unlinked = 0
        members = [member for member in event.members if member.id not in deleted]
        for member in members:
            user_id = member.id
            partners = [person for other, person in people.items() if other != user_id]
            await repo.add_match(
                PairView(
                    user_id=user_id,
                    round_id=event.round_id,
                    group_id=event.group_id,
                    created_at=event.created_at,
                    partners=partners,
                    shared_hobbies=event.shared_hobbies,
                )
            )
            known = recipients.get(user_id)
            link = links.get(user_id)
            channels = effective_channels(known.channels if known else None, link is not None)
            if link is None:
                unlinked += 1
            elif "telegram" in channels:
                await repo.add_message(
                    OutgoingMessage(
                        idempotency_key=f"{event.event_id}:{link.chat_id}",
                        user_id=user_id,
                        chat_id=link.chat_id,
                        text=texts.announcement(partners, event.shared_hobbies),
                        reply_markup=block_keyboard(event.group_id, partners),
                    )
                )
                messages += 1
            if "email" in channels:
                await repo.add_mail(
                    await mail.announcement(
                        repo,
                        event.event_id,
                        user_id,
                        known.email if known else member.email,
                        member.first_name,
                        partners,
                        event.shared_hobbies,
                    )
                )
                mails += 1
            if not messages_or_mail_for(channels, link is not None):
                log.info("user %d is told about group %d on no channel", user_id, event.group_id)
        if follow_up_delay is not None:  # "did you meet?", to every member
            bot_repo = BotRepository(uow.session)
            for member in members:
                await bot_repo.schedule_follow_up(
                    FollowUp(
                        group_id=event.group_id,
                        user_id=member.id,
                        round_id=event.round_id,
                        due_at=event.created_at + follow_up_delay,
                    )
                )
        await uow.commit()
    ANNOUNCEMENTS_SKIPPED_UNLINKED.inc(unlinked)
    return Queued(messages, mails)


async def on_round_skipped(uow: UnitOfWork, event: RoundSkipped, mail: MailComposer) -> Queued:
    """Tell the member that this round found them no group, on their channels (as an
    announcement would go); nothing if the account was deleted meanwhile."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return Queued()
        repo = NotifierRepository(uow.session)
        if await repo.deleted_among([event.user_id]):
            await uow.commit()
            return Queued()
        link = (await repo.links_of([event.user_id])).get(event.user_id)
        known = await repo.member(event.user_id)
        channels = effective_channels(known.channels if known else None, link is not None)
        messages = mails = 0
        if link is not None and "telegram" in channels:
            await repo.add_message(
                OutgoingMessage(
                    idempotency_key=f"{event.event_id}:{link.chat_id}",
                    user_id=event.user_id,
                    chat_id=link.chat_id,
                    text=texts.ROUND_SKIPPED,
                )
            )
            messages = 1
        if known is not None and "email" in channels:
            await repo.add_mail(
                await mail.round_skipped(
                    repo, event.event_id, event.user_id, known.email, known.first_name
                )
            )
            mails = 1
        await uow.commit()
    return Queued(messages, mails)


async def link_chat(
    uow: UnitOfWork, user_id: int, chat_id: int, username: str | None
) -> TelegramLinked:
    """Store the link and emit ``TelegramLinked`` (on commit); raises ChatTaken."""
    repo = NotifierRepository(uow.session)
    existing = await repo.link_by_chat(chat_id)
    if existing is not None and existing.user_id != user_id:
        raise ChatTaken()
    try:
        async with uow.session.begin_nested():
            await repo.upsert_link(user_id, chat_id, username)
    except IntegrityError as exc:  # linked elsewhere by a concurrent request
        raise ChatTaken() from exc
    event = TelegramLinked(user_id=user_id, chat_id=str(chat_id), username=username)
    uow.emit(event)
    return event


async def link_by_widget(
    uow: UnitOfWork, messaging: Messaging, caller: Principal, login: dict, bot_token: str
) -> dict:
    """Link the caller's (or, for staff naming ``email``, that user's) Telegram account.

    Profile applies the very event we emit before we commit, so the next read of the profile
    shows ``chat_id`` (docs/adr/006-telegram-delivery.md); if profile cannot, nothing is kept.
    """
    if not is_valid_login(login, bot_token, datetime.now(UTC)):
        raise ValidationFailed({"non_field_errors": [INVALID_LOGIN]})
    async with uow:
        user_id = caller.user_id
        if caller.is_staff and login.get("email"):
            user_id = await NotifierRepository(uow.session).user_id_by_email(login["email"])
            if user_id is None:
                raise ValidationFailed({"email": [UNKNOWN_EMAIL]})
        return await _link_and_apply(uow, messaging, user_id, login)


async def _link_and_apply(uow: UnitOfWork, messaging: Messaging, user_id: int, login: dict) -> dict:
    """In the caller's transaction: link, have profile apply the link now, commit; the user
    object profile answers."""
    try:
        event = await link_chat(uow, user_id, login["id"], login.get("username"))
    except ChatTaken:
        raise ValidationFailed({"chat_id": [CHAT_TAKEN]}) from None
    reply = await messaging.request(ApplyTelegramLink(event=event))
    if reply.errors:
        raise ValidationFailed(reply.errors)
    await uow.commit()
    return reply.user


async def find_telegram_user(
    uow: UnitOfWork, login: dict, bot_token: str | None
) -> TelegramUserReply:
    """Auth's web login with the widget: is it genuine, and whose is this Telegram account?"""
    if bot_token is None:
        return TelegramUserReply(valid=False, configured=False)
    if not is_valid_login(login, bot_token, datetime.now(UTC)):
        return TelegramUserReply(valid=False)
    async with uow:
        link = await NotifierRepository(uow.session).link_by_chat(login["id"])
    return TelegramUserReply(valid=True, user_id=link.user_id if link else None)


async def link_telegram_user(
    uow: UnitOfWork, messaging: Messaging, user_id: int, login: dict, bot_token: str | None
) -> TelegramUserReply:
    """Link the account such a login is creating (the payload is checked again here)."""
    checked = await find_telegram_user(uow, login, bot_token)
    if not checked.valid:
        return checked
    try:
        async with uow:
            await _link_and_apply(uow, messaging, user_id, login)
    except ValidationFailed as exc:
        return TelegramUserReply(valid=True, errors=exc.body)
    return TelegramUserReply(valid=True, user_id=user_id)


async def create_deep_link(
    uow: UnitOfWork, user_id: int, bot_username: str, ttl: timedelta
) -> dict:
    """A one-time ``t.me`` link whose ``/start`` code links the chat that sends it."""
    code = secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + ttl
    async with uow:
        await NotifierRepository(uow.session).add_code(
            LinkCode(code_hash=_code_hash(code), user_id=user_id, expires_at=expires_at)
        )
        await uow.commit()
    return {"url": f"https://t.me/{bot_username}?start={code}", "expires_at": expires_at}


async def link_by_code(
    uow: UnitOfWork, code: str, chat_id: int, username: str | None
) -> CodeOutcome:
    """``/start <code>``: link this chat; a code works once, and only before it expires."""
    async with uow:
        user_id = await NotifierRepository(uow.session).claim_code(_code_hash(code))
        if user_id is None:
            return CodeOutcome.INVALID
        try:
            await link_chat(uow, user_id, chat_id, username)
        except ChatTaken:
            return CodeOutcome.CHAT_TAKEN
        await uow.commit()
    return CodeOutcome.LINKED


async def user_of_chat(uow: UnitOfWork, chat_id: int) -> int | None:
    async with uow:
        link = await NotifierRepository(uow.session).link_by_chat(chat_id)
    return link.user_id if link else None


async def matches_of(uow: UnitOfWork, user_id: int, limit: int) -> list[PairView]:
    """The user's matches, newest first."""
    async with uow:
        return await NotifierRepository(uow.session).matches_of(user_id, limit)


async def pending_messages(uow: UnitOfWork, limit: int) -> list[OutgoingMessage]:
    async with uow:
        return await NotifierRepository(uow.session).pending_messages(limit)


async def mark_message(uow: UnitOfWork, message_id: int, status: str) -> None:
    async with uow:
        await NotifierRepository(uow.session).set_status(message_id, status)
        await uow.commit()


async def chat_blocked(uow: UnitOfWork, message: OutgoingMessage) -> None:
    """The user blocked the bot: drop what is queued for the chat and unlink it."""
    async with uow:
        repo = NotifierRepository(uow.session)
        await repo.drop_pending_for_chat(message.chat_id)
        link = await repo.delete_link(message.chat_id)
        if link is not None:
            uow.emit(TelegramUnlinked(user_id=link.user_id, chat_id=str(link.chat_id)))
        await uow.commit()
