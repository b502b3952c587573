"""The profile service layer: each use case is one function over a unit of work."""

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from profile_service.adapters.db import views
from profile_service.adapters.db.repository import ProfileRepository
from profile_service.adapters.db.tables import DeletedAccount, Match, Profile
from profile_service.adapters.db.tables import Hobby as HobbyRow
from profile_service.domain.model import (
    DELETED_USER,
    current_and_earlier,
    is_paused,
    partner_pairs,
    pause_until_errors,
    shown_pending_email,
    unknown_hobby_errors,
)
from unimatch_shared.errors import APIError, Throttled, ValidationFailed
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    Hobby,
    PairCreated,
    ProfileChanged,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import (
    AccountsExist,
    AccountsExistReply,
    CreateProfile,
    CreateProfileReply,
    EmailChangeReply,
    HobbyCatalogReply,
    RequestEmailChange,
    SetHobbies,
    SetPause,
)
from unimatch_shared.unit_of_work import UnitOfWork

CONSUMER = "profile"
# What a sign-up gives profile besides the hobbies.
PROFILE_FIELDS = {"first_name", "last_name", "age", "birth", "tg_link"}


def _not_found() -> APIError:
    return APIError(404, {"detail": "Not found."})


def _today() -> date:
    return datetime.now(UTC).date()


def _user_view(profile: Profile, hobby_ids: list[int]) -> dict:
    """docs/api.md, The user object, plus the pause state of My profile and (additive) the
    web surface's ``birth`` and ``tg_link``."""
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
        "pending_email": _pending_email(profile),
    }


def _announce(uow: UnitOfWork, profile: Profile, hobbies: list[HobbyRow]) -> None:
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
        )
    )


async def create_profile(uow: UnitOfWork, request: CreateProfile) -> CreateProfileReply:
    """Sign-up's synchronous step: validate hobbies, store the (unconfirmed) profile."""
    async with uow:
        repo = ProfileRepository(uow.session)
        errors = unknown_hobby_errors(request.hobby, await repo.existing_hobby_ids(request.hobby))
        if errors:
            return CreateProfileReply(errors=errors)
        profile = await repo.get(request.user_id, for_update=True) or Profile(
            user_id=request.user_id, email=request.email
        )
        profile.sqlmodel_update(request.model_dump(include=PROFILE_FIELDS))
        uow.session.add(profile)
        await uow.session.flush()
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
        raise _not_found()
    hobby_ids = fields.pop("hobby")
    return _user_view(Profile.model_construct(**fields), hobby_ids)


async def get_me(uow: UnitOfWork, user_id: int) -> dict:
    async with uow:
        repo = ProfileRepository(uow.session)
        profile = await repo.get(user_id)
        if profile is None:
            raise _not_found()
        return _user_view(profile, [h.id for h in await repo.hobbies_of(profile.user_id)])


async def update_me(
    uow: UnitOfWork, messaging: Messaging, user_id: int, changes: dict, web: bool = False
) -> dict:
    """Edit names, age, birth date, Telegram nick and hobbies; a given hobby list replaces
    the old one. Answers the user as the seed surface shows it, or as the web one does.

    A given email goes to auth, which owns it: another address is mailed a confirmation
    link and shows as ``pending_email`` until it is followed (docs/adr/new-password-reset.md).
    Auth is asked last, inside this transaction, so an edit refused here or there changes
    nothing; should this commit fail after auth's, the link still works and its event
    brings the new email here.
    """
    email = changes.pop("email", None)
    async with uow:
        repo = ProfileRepository(uow.session)
        profile = await repo.get(user_id, for_update=True)
        if profile is None:
            raise _not_found()
        hobby = changes.pop("hobby", None)
        if hobby is not None:
            errors = unknown_hobby_errors(hobby, await repo.existing_hobby_ids(hobby))
            if errors:
                raise ValidationFailed(errors)
            await repo.replace_hobbies(user_id, hobby)
        if email is not None:
            reply = await messaging.request(
                RequestEmailChange(user_id=user_id, email=email), EmailChangeReply
            )
            if reply.errors:
                raise ValidationFailed(reply.errors)
            if reply.retry_after:
                raise Throttled(reply.retry_after)
            changes["pending_email"] = reply.pending_email
            changes["pending_email_until"] = reply.pending_until
        profile.sqlmodel_update(changes)
        uow.session.add(profile)
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
        raise _not_found()
    return user


async def read_web_pairs(reads: AsyncConnectionPool, user_id: int) -> dict:
    """``GET /api/pairs``: the match of the latest round, and the earlier ones."""
    latest_round, matches = await views.web_matches(reads, user_id)
    current, earlier = current_and_earlier(matches, latest_round)
    return {"current_pair": current, "pairs": earlier}


async def set_pause(uow: UnitOfWork, user_id: int, paused: bool, until: date | None) -> dict:
    if paused:
        errors = pause_until_errors(until, _today())
        if errors:
            raise ValidationFailed(errors)
    async with uow:
        repo = ProfileRepository(uow.session)
        profile = await repo.get(user_id, for_update=True)
        if profile is None:
            raise _not_found()
        profile.paused = paused
        profile.paused_until = until if paused else None
        uow.session.add(profile)
        hobbies = await repo.hobbies_of(user_id)
        _announce(uow, profile, hobbies)
        view = _user_view(profile, [h.id for h in hobbies])
        await uow.commit()
    return view


async def on_user_registered(uow: UnitOfWork, event: UserRegistered) -> None:
    """Confirm the profile sign-up stored (or create it, for accounts made by operators);
    nothing for an account deleted meanwhile."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        if await is_deleted(uow, event.user_id):
            await uow.commit()
            return
        repo = ProfileRepository(uow.session)
        profile = await repo.get(event.user_id, for_update=True)
        if profile is None:
            profile = Profile(
                user_id=event.user_id,
                email=event.email,
                **event.model_dump(include=PROFILE_FIELDS),
            )
            uow.session.add(profile)
            await uow.session.flush()
            known = await repo.existing_hobby_ids(event.hobby)
            await repo.replace_hobbies(event.user_id, [h for h in event.hobby if h in known])
        profile.confirmed = True
        uow.session.add(profile)
        _announce(uow, profile, await repo.hobbies_of(profile.user_id))
        await uow.commit()


async def on_account_email_changed(uow: UnitOfWork, event: AccountEmailChanged) -> None:
    """Auth confirmed a new email: show it, no longer as pending, and tell matching (group
    members see each other's email). A change older than the one applied is stale."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        repo = ProfileRepository(uow.session)
        profile = await repo.get(event.user_id, for_update=True)
        if profile is not None and (
            profile.email_changed_at is None or event.occurred_at > profile.email_changed_at
        ):
            profile.email = event.email
            profile.email_changed_at = event.occurred_at
            if profile.pending_email == event.email:
                profile.pending_email = profile.pending_email_until = None
            uow.session.add(profile)
            _announce(uow, profile, await repo.hobbies_of(profile.user_id))
        await uow.commit()


async def on_pair_created(uow: UnitOfWork, event: PairCreated) -> None:
    """Each member's history gains their partners; a member whose account was deleted
    meanwhile gets no history, and appears in the others' as the deleted user does."""
    members = {member.id: member.model_dump() for member in event.members}
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        repo = ProfileRepository(uow.session)
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
        await uow.commit()


async def on_account_deleted(uow: UnitOfWork, event: AccountDeleted) -> None:
    """Forget the person: their profile, hobbies, history, answers and blocks (both ways).
    Past partners keep their rows, with the deleted user in the partner's place
    (``DELETED_USER``; docs/api.md)."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        await ProfileRepository(uow.session).forget(event.user_id, event.occurred_at)
        await uow.commit()


async def is_deleted(uow: UnitOfWork, user_id: int) -> bool:
    return await uow.session.get(DeletedAccount, user_id) is not None


async def on_telegram_linked(uow: UnitOfWork, event: TelegramLinked) -> None:
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        profile = await ProfileRepository(uow.session).get(event.user_id, for_update=True)
        if profile is not None and _newer_telegram_change(profile, event):
            profile.chat_id = event.chat_id
            profile.telegram_username = event.username
            profile.telegram_changed_at = event.occurred_at
            uow.session.add(profile)
        await uow.commit()


def _newer_telegram_change(profile: Profile, event: TelegramLinked | TelegramUnlinked) -> bool:
    """Links and unlinks may arrive out of order (redelivery, the synchronous link step):
    only one that happened after the last applied changes what the profile shows."""
    return profile.telegram_changed_at is None or event.occurred_at > profile.telegram_changed_at


async def apply_telegram_link(uow: UnitOfWork, event: TelegramLinked) -> CreateProfileReply:
    """The notifier's synchronous step when linking: apply its event now, so the profile shows
    ``chat_id`` at once; the same event arriving later over JetStream is then a no-op."""
    await on_telegram_linked(uow, event)
    return await _as_reply(get_me(uow, event.user_id))


async def set_pause_on_request(uow: UnitOfWork, request: SetPause) -> CreateProfileReply:
    """The bot's /pause and /resume."""
    return await _as_reply(set_pause(uow, request.user_id, request.paused, request.until))


async def set_hobbies_on_request(
    uow: UnitOfWork, messaging: Messaging, request: SetHobbies
) -> CreateProfileReply:
    """The bot's hobby picker: the chosen list replaces the old one."""
    return await _as_reply(update_me(uow, messaging, request.user_id, {"hobby": request.hobby}))


async def profile_on_request(uow: UnitOfWork, user_id: int) -> CreateProfileReply:
    """The bot's /profile."""
    return await _as_reply(get_me(uow, user_id))


async def hobby_catalog(uow: UnitOfWork) -> HobbyCatalogReply:
    """The bot's hobby picker: every hobby, by id."""
    async with uow:
        hobbies = await ProfileRepository(uow.session).all_hobbies()
    return HobbyCatalogReply(hobbies=[Hobby(id=h.id, name=h.name) for h in hobbies])


async def _as_reply(user_view: Awaitable[dict]) -> CreateProfileReply:
    """A use case's user view, or its refusal, as a request's reply."""
    try:
        return CreateProfileReply(user=await user_view)
    except APIError as exc:
        errors = {k: v if isinstance(v, list) else [v] for k, v in exc.body.items()}
        return CreateProfileReply(errors=errors)


async def on_telegram_unlinked(uow: UnitOfWork, event: TelegramUnlinked) -> None:
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        profile = await ProfileRepository(uow.session).get(event.user_id, for_update=True)
        if (
            profile is not None
            and profile.chat_id == event.chat_id
            and _newer_telegram_change(profile, event)
        ):
            profile.chat_id = None
            profile.telegram_username = None
            profile.telegram_changed_at = event.occurred_at
            uow.session.add(profile)
        await uow.commit()


@dataclass(frozen=True)
class Swept:
    removed: int = 0  # profiles whose account does not exist
    confirmed: int = 0  # profiles whose account exists: their user.registered never applied


async def purge_unconfirmed(
    uow: UnitOfWork, messaging: Messaging, ttl: timedelta, batch: int = AccountsExist.MAX_USER_IDS
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
            candidates = await ProfileRepository(uow.session).unconfirmed_before(cutoff, batch)
        if not candidates:
            break
        reply = await messaging.request(AccountsExist(user_ids=candidates), AccountsExistReply)
        existing = set(reply.existing) & set(candidates)
        async with uow:
            repo = ProfileRepository(uow.session)
            # Rows a user.registered confirmed meanwhile are left alone.
            profiles = await repo.lock_unconfirmed(candidates, cutoff)
            for profile in profiles:
                if profile.user_id in existing:
                    profile.confirmed = True
                    uow.session.add(profile)
                    _announce(uow, profile, await repo.hobbies_of(profile.user_id))
            orphans = [p.user_id for p in profiles if p.user_id not in existing]
            removed += await repo.delete_profiles(orphans) if orphans else 0
            confirmed += len(profiles) - len(orphans)
            await uow.commit()
        if len(candidates) < batch:
            break
    return Swept(removed, confirmed)
