"""The profile service layer: each use case is one function over a unit of work."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from profile_service.adapters.db import views
from profile_service.adapters.db.tables import Hobby as HobbyRow
from profile_service.adapters.db.tables import Match, Profile
from profile_service.domain.model import (
    DELETED_USER,
    current_and_earlier,
    is_paused,
    partner_pairs,
    pause_until_errors,
    shown_pending_email,
    unknown_hobby_errors,
)
from profile_service.unit_of_work import ProfileUnitOfWork
from unimatch_shared.channels import effective_channels, without_email
from unimatch_shared.errors import Invalid, NotFound, TryLater
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailUnsubscribed,
    Hobby,
    PairCreated,
    ProfileChanged,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.inbox import applied_once
from unimatch_shared.rpc import (
    AccountsExist,
    CreateProfile,
    CreateProfileReply,
    HobbyCatalogReply,
    RequestEmailChange,
    Requester,
    SetHobbies,
    SetPause,
)

CONSUMER = "profile"
# What a sign-up gives profile besides the hobbies.
PROFILE_FIELDS = {"first_name", "last_name", "age", "birth", "tg_link"}


def _today() -> date:
    return datetime.now(UTC).date()


def _channels(profile: Profile) -> list[str]:
    """The channels in force: as chosen, or the default for the user's Telegram link."""
    return list(effective_channels(profile.channels, profile.chat_id is not None))


def _user_view(profile: Profile, hobby_ids: list[int]) -> dict:
    """docs/api.md, The user object, plus the pause state of My profile and (additive) the
    web surface's ``birth`` and ``tg_link``, and the channels in force."""
    return {
        "id": profile.user_id,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
        "age": profile.age,
        "chat_id": profile.chat_id,
        "image": None,
        "hobby": hobby_ids,
        "paused": is_paused(profile.paused, profile.paused_until, _today()),
        "paused_until": profile.paused_until,
        "birth": profile.birth,
        "tg_link": profile.tg_link,
        "channels": _channels(profile),
        "pending_email": _pending_email(profile),
    }


def _pending_email(profile: Profile) -> str | None:
    return shown_pending_email(
        profile.pending_email, profile.pending_email_until, datetime.now(UTC)
    )


def _web_user_view(profile: Profile, hobbies: list[HobbyRow]) -> dict:
    """docs/api.md, Web surface: the web user, hobbies as objects."""
    return {
        "id": profile.user_id,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
        "birth": profile.birth,
        "chat_id": profile.chat_id,
        "image": None,
        "hobby": [{"id": h.id, "name": h.name} for h in hobbies],
        "tg_link": profile.tg_link,
        "channels": _channels(profile),
        "pending_email": _pending_email(profile),
    }


def _announce(uow: ProfileUnitOfWork, profile: Profile, hobbies: list[HobbyRow]) -> None:
    """Tell matching what it needs about this participant (confirmed profiles only)."""
    if not profile.confirmed:
        return
    uow.emit(
        ProfileChanged(
            user_id=profile.user_id,
            email=profile.email,
            first_name=profile.first_name,
            last_name=profile.last_name,
            hobbies=[Hobby(id=h.id, name=h.name) for h in hobbies],
            paused=profile.paused,
            paused_until=profile.paused_until,
            channels=profile.channels,
        )
    )


async def create_profile(uow: ProfileUnitOfWork, request: CreateProfile) -> CreateProfileReply:
    """Sign-up's synchronous step: validate hobbies, store the (unconfirmed) profile. Unknown
    hobbies are the reply's ``errors``, which auth answers as its sign-up's 400."""
    async with uow:
        repo = uow.profiles
        errors = unknown_hobby_errors(request.hobby, await repo.existing_hobby_ids(request.hobby))
        if errors:
            return CreateProfileReply(errors=errors)
        stored = await repo.get(request.user_id, for_update=True)
        profile = stored or Profile(user_id=request.user_id, email=request.email)
        profile.sqlmodel_update(request.model_dump(include=PROFILE_FIELDS))
        if stored is None:
            await repo.add(profile)
        await repo.replace_hobbies(profile.user_id, request.hobby)
        hobbies = await repo.hobbies_of(profile.user_id)
        user = _user_view(profile, [h.id for h in hobbies])
        web_user = _web_user_view(profile, hobbies)
        await uow.commit()
    return CreateProfileReply(user=user, web_user=web_user)


async def read_me(reads: AsyncConnectionPool, user_id: int) -> dict:
    """``GET /users/api/me``: the user view from the read pool, without the ORM."""
    fields = await views.profile_fields(reads, user_id)
    if fields is None:
        raise NotFound()
    hobby_ids = fields.pop("hobby")
    return _user_view(Profile.model_construct(**fields), hobby_ids)


async def get_me(uow: ProfileUnitOfWork, user_id: int) -> dict:
    async with uow:
        profile = await uow.profiles.get(user_id)
        if profile is None:
            raise NotFound()
        return _user_view(profile, [h.id for h in await uow.profiles.hobbies_of(user_id)])


async def update_me(
    uow: ProfileUnitOfWork, messaging: Requester, user_id: int, changes: dict, web: bool = False
) -> dict:
    """Edit names, age, birth date, Telegram nick, hobbies and channels; a given hobby list
    replaces the old one; channels ``None`` go back to the default. Answers the user as the
    seed surface shows it, or as the web one does.

    A given email goes to auth, which owns it: another address is mailed a confirmation
    link and shows as ``pending_email`` until it is followed (docs/adr/016-password-reset.md).
    Auth is asked last, inside this transaction, so an edit refused here or there changes
    nothing; should this commit fail after auth's, the link still works and its event
    brings the new email here.
    """
    email = changes.pop("email", None)
    async with uow:
        repo = uow.profiles
        profile = await repo.get(user_id, for_update=True)
        if profile is None:
            raise NotFound()
        hobby = changes.pop("hobby", None)
        if hobby is not None:
            errors = unknown_hobby_errors(hobby, await repo.existing_hobby_ids(hobby))
            if errors:
                raise Invalid(errors)
            await repo.replace_hobbies(user_id, hobby)
        if email is not None:
            reply = await messaging.request(RequestEmailChange(user_id=user_id, email=email))
            if reply.errors:
                raise Invalid(reply.errors)
            if reply.retry_after:
                raise TryLater(reply.retry_after)
            changes["pending_email"] = reply.pending_email
            changes["pending_email_until"] = reply.pending_until
        profile.sqlmodel_update(changes)
        hobbies = await repo.hobbies_of(user_id)
        _announce(uow, profile, hobbies)
        if web:
            view = _web_user_view(profile, hobbies)
        else:
            view = _user_view(profile, [h.id for h in hobbies])
        await uow.commit()
    return view


async def read_web_me(reads: AsyncConnectionPool, user_id: int) -> dict:
    """``GET /api/auth/users/me``."""
    user = await views.web_user(reads, user_id)
    if user is None:
        raise NotFound()
    user["channels"] = effective_channels(user["channels"], user["chat_id"] is not None)
    return user


async def read_web_pairs(reads: AsyncConnectionPool, user_id: int) -> dict:
    """``GET /api/pairs``: the match of the latest round, and the earlier ones."""
    latest_round, matches = await views.web_matches(reads, user_id)
    current, earlier = current_and_earlier(matches, latest_round)
    return {"current_pair": current, "pairs": earlier}


async def set_pause(uow: ProfileUnitOfWork, user_id: int, paused: bool, until: date | None) -> dict:
    if paused:
        errors = pause_until_errors(until, _today())
        if errors:
            raise Invalid(errors)
    async with uow:
        repo = uow.profiles
        profile = await repo.get(user_id, for_update=True)
        if profile is None:
            raise NotFound()
        profile.paused = paused
        profile.paused_until = until if paused else None
        hobbies = await repo.hobbies_of(user_id)
        _announce(uow, profile, hobbies)
        view = _user_view(profile, [h.id for h in hobbies])
        await uow.commit()
    return view


async def set_pause_on_request(uow: ProfileUnitOfWork, request: SetPause) -> dict:
    """The bot's /pause and /resume."""
    return await set_pause(uow, request.user_id, request.paused, request.until)


@applied_once(CONSUMER)
async def on_user_registered(uow: ProfileUnitOfWork, event: UserRegistered) -> None:
    """Confirm the profile sign-up stored (or create it, for accounts made by operators);
    nothing for an account deleted meanwhile."""
    repo = uow.profiles
    if await repo.is_deleted(event.user_id):
        return
    profile = await repo.get(event.user_id, for_update=True)
    if profile is None:
        profile = Profile(
            user_id=event.user_id,
            email=event.email,
            **event.model_dump(include=PROFILE_FIELDS),
        )
        await repo.add(profile)
        known = await repo.existing_hobby_ids(event.hobby)
        await repo.replace_hobbies(event.user_id, [h for h in event.hobby if h in known])
    profile.confirmed = True
    _announce(uow, profile, await repo.hobbies_of(profile.user_id))


@applied_once(CONSUMER)
async def on_account_email_changed(uow: ProfileUnitOfWork, event: AccountEmailChanged) -> None:
    """Auth confirmed a new email: show it, no longer as pending, and tell matching (group
    members see each other's email). A change older than the one applied is stale."""
    repo = uow.profiles
    profile = await repo.get(event.user_id, for_update=True)
    if profile is not None and (
        profile.email_changed_at is None or event.occurred_at > profile.email_changed_at
    ):
        profile.email = event.email
        profile.email_changed_at = event.occurred_at
        if profile.pending_email == event.email:
            profile.pending_email = profile.pending_email_until = None
        _announce(uow, profile, await repo.hobbies_of(profile.user_id))


@applied_once(CONSUMER)
async def on_pair_created(uow: ProfileUnitOfWork, event: PairCreated) -> None:
    """Each member's history gains their partners; a member whose account was deleted
    meanwhile gets no history, and appears in the others' as the deleted user does."""
    members = {member.id: member.model_dump() for member in event.members}
    repo = uow.profiles
    deleted = await repo.deleted_among(list(members))
    for user_id in deleted:
        members[user_id].update(DELETED_USER)
    for user_id, partner_id in partner_pairs(list(members)):
        if user_id in deleted:
            continue
        partner = members[partner_id]
        await repo.add_match(
            Match(
                user_id=user_id,
                partner_id=partner_id,
                partner_first_name=partner["first_name"],
                partner_last_name=partner["last_name"],
                partner_email=partner["email"],
                round_id=event.round_id,
                group_id=event.group_id,
                shared_hobbies=event.shared_hobbies,
                created_at=event.created_at,
            )
        )


@applied_once(CONSUMER)
async def on_account_deleted(uow: ProfileUnitOfWork, event: AccountDeleted) -> None:
    """Forget the person: their profile, hobbies, history, answers and blocks (both ways).
    Past partners keep their rows, with the deleted user in the partner's place
    (``DELETED_USER``; docs/api.md)."""
    await uow.profiles.forget(event.user_id, event.occurred_at)


@applied_once(CONSUMER)
async def on_telegram_linked(uow: ProfileUnitOfWork, event: TelegramLinked) -> None:
    profile = await uow.profiles.get(event.user_id, for_update=True)
    if profile is not None and _newer_telegram_change(profile, event):
        profile.chat_id = event.chat_id
        profile.telegram_username = event.username
        profile.telegram_changed_at = event.occurred_at


def _newer_telegram_change(profile: Profile, event: TelegramLinked | TelegramUnlinked) -> bool:
    """Links and unlinks may arrive out of order (redelivery, the synchronous link step):
    only one that happened after the last applied changes what the profile shows."""
    return profile.telegram_changed_at is None or event.occurred_at > profile.telegram_changed_at


async def apply_telegram_link(uow: ProfileUnitOfWork, event: TelegramLinked) -> dict:
    """The notifier's synchronous step when linking: apply its event now, so the profile shows
    ``chat_id`` at once; the same event arriving later over JetStream is then a no-op."""
    await on_telegram_linked(uow, event)
    return await get_me(uow, event.user_id)


async def set_hobbies_on_request(
    uow: ProfileUnitOfWork, messaging: Requester, request: SetHobbies
) -> dict:
    """The bot's hobby picker: the chosen list replaces the old one."""
    return await update_me(uow, messaging, request.user_id, {"hobby": request.hobby})


async def hobby_catalog(uow: ProfileUnitOfWork) -> HobbyCatalogReply:
    """The bot's hobby picker: every hobby, by id."""
    async with uow:
        hobbies = await uow.profiles.all_hobbies()
    return HobbyCatalogReply(hobbies=[Hobby(id=h.id, name=h.name) for h in hobbies])


@applied_once(CONSUMER)
async def on_email_unsubscribed(uow: ProfileUnitOfWork, event: EmailUnsubscribed) -> None:
    """The unsubscribe link in a mail was followed: email leaves the user's channels (what
    was in force, so a default becomes an explicit choice), and the notifier hears of it."""
    repo = uow.profiles
    profile = await repo.get(event.user_id, for_update=True)
    if profile is not None and "email" in _channels(profile):
        profile.channels = without_email(profile.channels, profile.chat_id is not None)
        _announce(uow, profile, await repo.hobbies_of(profile.user_id))


@applied_once(CONSUMER)
async def on_telegram_unlinked(uow: ProfileUnitOfWork, event: TelegramUnlinked) -> None:
    profile = await uow.profiles.get(event.user_id, for_update=True)
    if (
        profile is not None
        and profile.chat_id == event.chat_id
        and _newer_telegram_change(profile, event)
    ):
        profile.chat_id = None
        profile.telegram_username = None
        profile.telegram_changed_at = event.occurred_at


@dataclass(frozen=True)
class Swept:
    removed: int = 0  # profiles whose account does not exist
    confirmed: int = 0  # profiles whose account exists: their user.registered never applied


async def purge_unconfirmed(
    uow: ProfileUnitOfWork,
    messaging: Requester,
    ttl: timedelta,
    batch: int = AccountsExist.MAX_USER_IDS,
) -> Swept:
    """Drop sign-up profiles whose account never committed (ADR 001), after asking auth.

    A profile unconfirmed for ``ttl`` usually belongs to a sign-up that rolled back; but its
    ``user.registered`` may also have been lost or parked as a dead letter, and the user then
    holds a working token. So auth is asked which of these accounts exist: those profiles are
    confirmed (and announced) as the event would have done; only the others are deleted. If
    auth cannot be reached, ``ServiceUnavailable`` is raised and nothing is deleted.
    """
    removed = confirmed = 0
    while True:
        cutoff = datetime.now(UTC) - ttl
        async with uow:
            candidates = await uow.profiles.unconfirmed_before(cutoff, batch)
        if not candidates:
            break
        reply = await messaging.request(AccountsExist(user_ids=candidates))
        existing = set(reply.existing) & set(candidates)
        async with uow:
            repo = uow.profiles
            # Rows a user.registered confirmed meanwhile are left alone.
            profiles = await repo.lock_unconfirmed(candidates, cutoff)
            for profile in profiles:
                if profile.user_id in existing:
                    profile.confirmed = True
                    _announce(uow, profile, await repo.hobbies_of(profile.user_id))
            orphans = [p.user_id for p in profiles if p.user_id not in existing]
            removed += await repo.delete_profiles(orphans) if orphans else 0
            confirmed += len(profiles) - len(orphans)
            await uow.commit()
        if len(candidates) < batch:
            break
    return Swept(removed, confirmed)
