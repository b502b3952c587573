"""The auth service layer: each use case is one function over a unit of work."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from auth_service.adapters.db.tables import AuthToken, LoginFailure, UserAccount
from auth_service.domain.credentials import new_token, normalize_email, token_digest
from auth_service.domain.passwords import hash_password, verify_password
from auth_service.domain.throttle import POLICY, Failure, retry_after
from unimatch_shared.errors import Throttled, ValidationFailed
from unimatch_shared.events import UserRegistered
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import CreateProfile, CreateProfileReply, VerifiedToken
from unimatch_shared.unit_of_work import UnitOfWork

EMAIL_TAKEN = "user with this email already exists."
BAD_CREDENTIALS = "Unable to log in with provided credentials."


async def register(
    uow: UnitOfWork,
    messaging: Messaging,
    email: str,
    password: str,
    profile: dict,
) -> tuple[dict, str]:
    """Create the account, have profile store the rest, and open the first session.

    The account row is written but not committed while profile validates and stores the
    profile; if profile refuses or is unreachable, the transaction rolls back and nothing
    of the account remains (docs/adr/001-registration-across-contexts.md).
    """
    password_hash = await asyncio.to_thread(hash_password, password)
    async with uow:
        account = UserAccount(email=email, password_hash=password_hash)
        uow.session.add(account)
        try:
            await uow.session.flush()
        except IntegrityError as exc:
            raise ValidationFailed({"email": [EMAIL_TAKEN]}) from exc
        request = CreateProfile(user_id=account.id, email=email, **profile)
        reply = await messaging.request(request, CreateProfileReply)
        if reply.errors:
            raise ValidationFailed(reply.errors)
        token = new_token()
        uow.session.add(AuthToken(digest=token_digest(token), user_id=account.id))
        uow.emit(UserRegistered(**request.model_dump()))
        await uow.commit()
    return reply.user, token


async def log_in(uow: UnitOfWork, email: str, password: str, client: str) -> str:
    """A new session's token; throttled per docs/adr/009-login-throttling.md.

    Unknown email and wrong password fail alike, in about the same time (decoy hash).
    """
    key = _login_key(email)
    now = datetime.now(UTC)
    async with uow:
        recent = await uow.session.exec(
            select(LoginFailure).where(
                or_(LoginFailure.email == key, LoginFailure.client == client),
                LoginFailure.failed_at > now - POLICY.horizon,
            )
        )
        failures = [Failure(f.email, f.client, f.failed_at) for f in recent]
        wait = retry_after(failures, key, client, now)
        if wait:
            raise Throttled(wait)
        account = (
            await uow.session.exec(select(UserAccount).where(UserAccount.email == key))
        ).first()
        stored_hash = account.password_hash if account else None
        if not await asyncio.to_thread(verify_password, password, stored_hash):
            uow.session.add(LoginFailure(email=key, client=client, failed_at=now))
            await uow.session.exec(
                delete(LoginFailure).where(LoginFailure.failed_at <= now - POLICY.horizon)
            )
            await uow.commit()
            raise ValidationFailed({"non_field_errors": [BAD_CREDENTIALS]})
        await uow.session.exec(
            delete(LoginFailure).where(LoginFailure.email == key, LoginFailure.client == client)
        )
        token = new_token()
        uow.session.add(AuthToken(digest=token_digest(token), user_id=account.id))
        await uow.commit()
    return token


def _login_key(email: str) -> str:
    """The email as stored; a malformed one (never an account) as typed, for throttling."""
    try:
        return normalize_email(email)
    except ValueError:
        return email.strip().lower()[:254]


async def log_out(uow: UnitOfWork, token: str) -> None:
    async with uow:
        await uow.session.exec(delete(AuthToken).where(AuthToken.digest == token_digest(token)))
        await uow.commit()


async def verify_token(uow: UnitOfWork, token: str) -> VerifiedToken:
    async with uow:
        row = (
            await uow.session.exec(
                select(UserAccount.id, UserAccount.is_staff)
                .join(AuthToken, AuthToken.user_id == UserAccount.id)
                .where(AuthToken.digest == token_digest(token))
            )
        ).first()
    if row is None:
        return VerifiedToken()
    return VerifiedToken(user_id=row[0], is_staff=row[1])


async def ensure_admin(uow: UnitOfWork, email: str, password: str) -> None:
    """The operator's staff account from UNIMATCH_ADMIN_*: created once, password kept current.

    A new admin is announced like any registration, so profile gives it a profile too.
    """
    email = normalize_email(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with uow:
        account = (
            await uow.session.exec(select(UserAccount).where(UserAccount.email == email))
        ).first()
        if account is None:
            account = UserAccount(email=email, password_hash=password_hash, is_staff=True)
            uow.session.add(account)
            await uow.session.flush()
            uow.emit(UserRegistered(user_id=account.id, email=email))
        else:
            account.is_staff = True
            account.password_hash = password_hash
            uow.session.add(account)
        await uow.commit()
