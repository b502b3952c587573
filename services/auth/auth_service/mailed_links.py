"""Use cases behind the links auth has mailed: a password reset, and the confirmation of a new
email address (docs/adr/016-password-reset.md).

Auth makes the single-use token and keeps only its SHA-256; the token itself travels in an
event (``password_reset.requested``, ``email_change.requested``), written to the outbox in
the transaction that stores its digest, for the notifier to put in a mail. Auth sends no
mail, and a token exists if and only if its mail will be sent.
"""

import math
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from auth_service.adapters.db import views
from auth_service.adapters.db.tables import (
    AuthToken,
    LoginFailure,
    MailedToken,
    ResetRequest,
    UserAccount,
)
from auth_service.adapters.hashing import PasswordWork
from auth_service.domain.credentials import EMAIL_TAKEN, InvalidCredential, normalize_email
from auth_service.domain.mailed_tokens import (
    EMAIL_CHANGE,
    PASSWORD_RESET,
    decode_uid,
    encode_uid,
    new_mailed_token,
    usable,
    well_formed,
)
from auth_service.domain.passwords import hash_password
from auth_service.domain.throttle import (
    RESET_POLICY,
    Failure,
    Window,
    client_of,
    request_retry_after,
)
from auth_service.web_sessions import end_web_sessions
from unimatch_shared.errors import Throttled, ValidationFailed
from unimatch_shared.events import AccountEmailChanged, EmailChangeRequested, PasswordResetRequested
from unimatch_shared.rpc import EmailChangeReply
from unimatch_shared.sessions import SessionStore, token_digest
from unimatch_shared.unit_of_work import UnitOfWork

INVALID_LINK = "Invalid or expired token."
NO_ACCOUNT = "No such account."
# Confirmation mails one account may have sent to new addresses: a signed-in user cannot
# make auth mail strangers more often than this.
EMAIL_CHANGE_LIMIT = Window(3, timedelta(minutes=15))
# Spent and expired tokens are deleted this long after they expire (a day of "invalid link"
# answers for them is no different from any unknown token's).
TOKEN_KEPT_AFTER_EXPIRY = timedelta(days=1)


def invalid_link() -> ValidationFailed:
    return ValidationFailed({"token": [INVALID_LINK]})


async def request_password_reset(
    uow: UnitOfWork, email: str, client: str, lifetime: timedelta
) -> None:
    """Mail a reset link to ``email`` if it is an account's; the same outcome, and the same
    work but for one row, if it is not (no account enumeration).

    Throttled per address and per client network (``request_retry_after``): every request
    counts, known email or not. Check and record are one step under advisory locks keyed by
    both, as for logins (docs/adr/009), so simultaneous requests cannot all pass one check.
    ``email`` is normalised (the endpoint's schema did it).
    """
    where = client_of(client)
    async with uow:
        await uow.lock(f"auth.reset.email:{email}")
        await uow.lock(f"auth.reset.network:{where.network}")
        now = datetime.now(UTC)
        recent = await uow.session.exec(
            select(ResetRequest).where(
                or_(ResetRequest.email == email, ResetRequest.network == where.network),
                ResetRequest.requested_at > now - RESET_POLICY.horizon,
            )
        )
        earlier = [Failure(r.email, r.client, r.requested_at, r.network) for r in recent]
        wait = request_retry_after(earlier, email, where, now)
        if wait:
            raise Throttled(wait)
        uow.session.add(
            ResetRequest(email=email, client=where.host, network=where.network, requested_at=now)
        )
        await _forget_old_requests(uow, now)
        account = (
            await uow.session.exec(select(UserAccount).where(UserAccount.email == email))
        ).first()
        if account is not None:
            token = _issue(uow, PASSWORD_RESET, account.id, now + lifetime)
            uow.emit(
                PasswordResetRequested(
                    user_id=account.id,
                    email=account.email,
                    uid=encode_uid(account.id),
                    token=token,
                    expires_at=now + lifetime,
                )
            )
        await uow.commit()


async def reset_password(
    uow: UnitOfWork,
    sessions: SessionStore,
    passwords: PasswordWork,
    reads: AsyncConnectionPool,
    uid: str,
    token: str,
    new_password: str,
) -> None:
    """Set the password a reset link allows; every session of the account ends and every
    other reset link of it stops working. The failed logins counted against the email are
    forgotten: the owner proved to read its mail, and must not meet a 429 with the password
    just set (docs/adr/009).

    The link is checked on the read pool before any hashing (a flood of forged links costs
    no Argon2 time), then again, locked, in the transaction that spends it: of two uses at
    once, one wins. Seed sessions leave the session store before the commit (a store that
    cannot be reached fails the whole reset, 503: nothing changes); web sessions end with
    their refresh tokens (docs/adr/015).
    """
    user_id = decode_uid(uid)
    if user_id is None or not well_formed(token):
        raise invalid_link()
    digest = token_digest(token)
    if not await views.mailed_token_usable(reads, digest, PASSWORD_RESET, user_id):
        raise invalid_link()
    password_hash = await passwords.run(hash_password, new_password)
    async with uow:
        spent = await _spend(uow, digest, PASSWORD_RESET)
        if spent is None or spent.user_id != user_id:
            raise invalid_link()
        account = await uow.session.get(UserAccount, user_id, with_for_update=True)
        if account is None:
            raise invalid_link()
        account.password_hash = password_hash
        uow.session.add(account)
        await uow.session.exec(delete(LoginFailure).where(LoginFailure.email == account.email))
        await password_changed(uow, sessions, user_id)
        await uow.commit()


async def password_changed(uow: UnitOfWork, sessions: SessionStore | None, user_id: int) -> None:
    """What a new password ends, in the caller's transaction: every reset link of the
    account, its web sessions, and, given the store, its seed sessions."""
    await void_mailed_tokens(uow, user_id, PASSWORD_RESET)
    await end_web_sessions(uow, user_id)
    if sessions is not None:
        await end_seed_sessions(uow, sessions, user_id)


async def end_seed_sessions(uow: UnitOfWork, sessions: SessionStore, user_id: int) -> None:
    """Revoke every seed token of the account: rows deleted, then their store entries (as a
    logout does, docs/adr/010), before the caller commits."""
    deleted = await uow.session.exec(
        delete(AuthToken).where(AuthToken.user_id == user_id).returning(AuthToken.digest)
    )
    for digest in deleted.scalars().all():
        await sessions.remove(digest)


async def void_mailed_tokens(uow: UnitOfWork, user_id: int, purpose: str) -> None:
    """Every unused token of this purpose stops working (caller's transaction)."""
    await uow.session.exec(
        update(MailedToken)
        .where(
            MailedToken.user_id == user_id,
            MailedToken.purpose == purpose,
            MailedToken.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )


async def request_email_change(
    uow: UnitOfWork, user_id: int, email: str, lifetime: timedelta
) -> EmailChangeReply:
    """profile's ``me`` edited with ``email``: mail a confirmation link to that address.

    The account's own email changes nothing (a form sends it back unchanged); the address
    already pending changes nothing either (no second mail for every save of the form). A
    new address replaces the pending one, whose link stops working. An address another
    account has is refused, as at sign-up.
    """
    try:
        new_email = normalize_email(email)
    except InvalidCredential as exc:
        return EmailChangeReply(errors={"email": [str(exc)]})
    async with uow:
        account = await uow.session.get(UserAccount, user_id, with_for_update=True)
        if account is None:
            return EmailChangeReply(errors={"non_field_errors": [NO_ACCOUNT]})
        now = datetime.now(UTC)
        pending = await uow.session.exec(
            select(MailedToken).where(
                MailedToken.user_id == user_id,
                MailedToken.purpose == EMAIL_CHANGE,
                MailedToken.created_at > now - max(lifetime, EMAIL_CHANGE_LIMIT.period),
            )
        )
        made = list(pending)
        current = next((t for t in made if usable(t.expires_at, t.used_at, now)), None)
        unchanged = EmailChangeReply(
            pending_email=current.new_email if current else None,
            pending_until=current.expires_at if current else None,
        )
        if new_email == account.email or (current and new_email == current.new_email):
            return unchanged
        wait = EMAIL_CHANGE_LIMIT.wait([t.created_at for t in made], now)
        if wait > 0:
            return unchanged.model_copy(update={"retry_after": math.ceil(wait)})
        if (
            await uow.session.exec(select(UserAccount.id).where(UserAccount.email == new_email))
        ).first():
            return EmailChangeReply(errors={"email": [EMAIL_TAKEN]})
        await void_mailed_tokens(uow, user_id, EMAIL_CHANGE)
        token = _issue(uow, EMAIL_CHANGE, user_id, now + lifetime, new_email=new_email)
        uow.emit(
            EmailChangeRequested(
                user_id=user_id, new_email=new_email, token=token, expires_at=now + lifetime
            )
        )
        await uow.commit()
    return EmailChangeReply(pending_email=new_email, pending_until=now + lifetime)


async def confirm_email_change(uow: UnitOfWork, token: str) -> str:
    """Follow a confirmation link: the account's email becomes the one it was mailed to, and
    ``account.email_changed`` tells profile and the notifier. Returns the new email.

    Reset links mailed to the old address stop working. If the address was taken meanwhile,
    the change is refused and the link stays unused (nothing changes)."""
    if not well_formed(token):
        raise invalid_link()
    async with uow:
        spent = await _spend(uow, token_digest(token), EMAIL_CHANGE)
        if spent is None or spent.new_email is None:
            raise invalid_link()
        account = await uow.session.get(UserAccount, spent.user_id, with_for_update=True)
        if account is None:
            raise invalid_link()
        account.email = spent.new_email
        uow.session.add(account)
        try:
            await uow.session.flush()
        except IntegrityError as exc:
            raise ValidationFailed({"email": [EMAIL_TAKEN]}) from exc
        await void_mailed_tokens(uow, account.id, EMAIL_CHANGE)
        await void_mailed_tokens(uow, account.id, PASSWORD_RESET)
        uow.emit(AccountEmailChanged(user_id=account.id, email=account.email))
        await uow.commit()
    return spent.new_email


async def forget_old_mailed_tokens(uow: UnitOfWork, batch: int = 500) -> int:
    """Delete up to ``batch`` tokens expired for a while, and reset requests too old to be
    counted; rows others are deleting are skipped. Returns how many went."""
    now = datetime.now(UTC)
    async with uow:
        old = (
            select(MailedToken.digest)
            .where(MailedToken.expires_at <= now - TOKEN_KEPT_AFTER_EXPIRY)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        tokens = await uow.session.exec(
            delete(MailedToken).where(MailedToken.digest.in_(old)).returning(MailedToken.digest)
        )
        count = len(tokens.all())
        count += await _forget_old_requests(uow, now, batch)
        await uow.commit()
    return count


def _issue(
    uow: UnitOfWork, purpose: str, user_id: int, expires_at: datetime, new_email: str | None = None
) -> str:
    """A new token of ``purpose``: its digest stored in the caller's transaction."""
    token = new_mailed_token()
    uow.session.add(
        MailedToken(
            digest=token_digest(token),
            purpose=purpose,
            user_id=user_id,
            new_email=new_email,
            expires_at=expires_at,
        )
    )
    return token


async def _spend(uow: UnitOfWork, digest: str, purpose: str) -> MailedToken | None:
    """The token, locked and marked used, if it is usable for ``purpose``; else None."""
    row = (
        await uow.session.exec(
            select(MailedToken).where(MailedToken.digest == digest).with_for_update()
        )
    ).first()
    now = datetime.now(UTC)
    if row is None or row.purpose != purpose or not usable(row.expires_at, row.used_at, now):
        return None
    row.used_at = now
    uow.session.add(row)
    return row


async def _forget_old_requests(uow: UnitOfWork, now: datetime, batch: int = 100) -> int:
    """Delete up to ``batch`` reset requests too old to count (skip-locked, as for failed
    logins)."""
    old = (
        select(ResetRequest.id)
        .where(ResetRequest.requested_at <= now - RESET_POLICY.horizon)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    deleted = await uow.session.exec(
        delete(ResetRequest).where(ResetRequest.id.in_(old)).returning(ResetRequest.id)
    )
    return len(deleted.all())
