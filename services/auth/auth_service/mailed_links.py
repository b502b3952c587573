"""Use cases behind the links auth has mailed: a password reset, and the confirmation of a new
email address (docs/adr/016-password-reset.md).

Auth makes the single-use token and keeps only its SHA-256; the token itself travels in an
event (``password_reset.requested``, ``email_change.requested``), written to the outbox in
the transaction that stores its digest, for the notifier to put in a mail. Auth sends no
mail, and a token exists if and only if its mail will be sent.
"""

import math
from datetime import UTC, datetime, timedelta

from auth_service.adapters.db.tables import MailedToken, ResetRequest
from auth_service.domain.credentials import InvalidCredential, normalize_email
from auth_service.domain.errors import EmailTaken, InvalidLink, NoAccount
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
from auth_service.domain.throttle import RESET_POLICY, Window, client_of, request_retry_after
from auth_service.unit_of_work import AuthUnitOfWork, Hashing, LiveSessionStore, Lookups
from unimatch_shared.errors import Invalid, TryLater
from unimatch_shared.events import AccountEmailChanged, EmailChangeRequested, PasswordResetRequested
from unimatch_shared.rpc import EmailChangeReply
from unimatch_shared.sessions import token_digest

# Confirmation mails one account may have sent to new addresses: a signed-in user cannot
# make auth mail strangers more often than this.
EMAIL_CHANGE_LIMIT = Window(3, timedelta(minutes=15))
# Spent and expired tokens are deleted this long after they expire (a day of "invalid link"
# answers for them is no different from any unknown token's).
TOKEN_KEPT_AFTER_EXPIRY = timedelta(days=1)


async def request_password_reset(
    uow: AuthUnitOfWork, email: str, client: str, lifetime: timedelta
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
        earlier = await uow.attempts.reset_requests(
            email, where.network, now - RESET_POLICY.horizon
        )
        wait = request_retry_after(earlier, email, where, now)
        if wait:
            raise TryLater(wait)
        await uow.attempts.record_reset_request(
            ResetRequest(email=email, client=where.host, network=where.network, requested_at=now)
        )
        await uow.attempts.forget_reset_requests_before(now - RESET_POLICY.horizon, batch=100)
        account = await uow.accounts.by_email(email)
        if account is not None:
            token = await _issue(uow, PASSWORD_RESET, account.id, now + lifetime)
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
    uow: AuthUnitOfWork,
    sessions: LiveSessionStore,
    passwords: Hashing,
    lookups: Lookups,
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
        raise InvalidLink(PASSWORD_RESET)
    digest = token_digest(token)
    if not await lookups.mailed_token_usable(digest, PASSWORD_RESET, user_id):
        raise InvalidLink(PASSWORD_RESET)
    password_hash = await passwords.run(hash_password, new_password)
    async with uow:
        spent = await _spend(uow, digest, PASSWORD_RESET)
        if spent is None or spent.user_id != user_id:
            raise InvalidLink(PASSWORD_RESET)
        account = await uow.accounts.get(user_id, for_update=True)
        if account is None:
            raise InvalidLink(PASSWORD_RESET)
        account.password_hash = password_hash
        await uow.accounts.save(account)
        await uow.attempts.forget_logins_of(account.email)
        await password_changed(uow, sessions, user_id)
        await uow.commit()


async def password_changed(
    uow: AuthUnitOfWork, sessions: LiveSessionStore | None, user_id: int
) -> None:
    """What a new password ends, in the caller's transaction: every reset link of the
    account, its web sessions (docs/adr/015), and, given the store, its seed sessions: rows
    deleted, then their store entries (as a logout does, docs/adr/010)."""
    now = datetime.now(UTC)
    await uow.mailed_tokens.void(user_id, PASSWORD_RESET, now)
    await uow.web_sessions.end_all_of(user_id, now)
    if sessions is not None:
        for digest in await uow.seed_tokens.delete_all_of(user_id):
            await sessions.remove(digest)


async def request_email_change(
    uow: AuthUnitOfWork, user_id: int, email: str, lifetime: timedelta
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
        raise Invalid({"email": [str(exc)]}) from None
    async with uow:
        account = await uow.accounts.get(user_id, for_update=True)
        if account is None:
            raise NoAccount()
        now = datetime.now(UTC)
        since = now - max(lifetime, EMAIL_CHANGE_LIMIT.period)
        made = await uow.mailed_tokens.made_since(user_id, EMAIL_CHANGE, since)
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
        if await uow.accounts.by_email(new_email) is not None:
            raise EmailTaken()
        await uow.mailed_tokens.void(user_id, EMAIL_CHANGE, now)
        token = await _issue(uow, EMAIL_CHANGE, user_id, now + lifetime, new_email=new_email)
        uow.emit(
            EmailChangeRequested(
                user_id=user_id, new_email=new_email, token=token, expires_at=now + lifetime
            )
        )
        await uow.commit()
    return EmailChangeReply(pending_email=new_email, pending_until=now + lifetime)


async def confirm_email_change(uow: AuthUnitOfWork, token: str) -> str:
    """Follow a confirmation link: the account's email becomes the one it was mailed to, and
    ``account.email_changed`` tells profile and the notifier. Returns the new email.

    Reset links mailed to the old address stop working. If the address was taken meanwhile,
    the change is refused and the link stays unused (nothing changes)."""
    if not well_formed(token):
        raise InvalidLink(EMAIL_CHANGE)
    async with uow:
        spent = await _spend(uow, token_digest(token), EMAIL_CHANGE)
        if spent is None or spent.new_email is None:
            raise InvalidLink(EMAIL_CHANGE)
        account = await uow.accounts.get(spent.user_id, for_update=True)
        if account is None:
            raise InvalidLink(EMAIL_CHANGE)
        account.email = spent.new_email
        await uow.accounts.save(account)
        now = datetime.now(UTC)
        await uow.mailed_tokens.void(account.id, EMAIL_CHANGE, now)
        await uow.mailed_tokens.void(account.id, PASSWORD_RESET, now)
        uow.emit(AccountEmailChanged(user_id=account.id, email=account.email))
        await uow.commit()
    return spent.new_email


async def forget_old_mailed_tokens(uow: AuthUnitOfWork, batch: int = 500) -> int:
    """Delete up to ``batch`` tokens expired for a while, and reset requests too old to be
    counted; rows others are deleting are skipped. Returns how many went."""
    now = datetime.now(UTC)
    async with uow:
        count = await uow.mailed_tokens.forget_expired_before(now - TOKEN_KEPT_AFTER_EXPIRY, batch)
        count += await uow.attempts.forget_reset_requests_before(now - RESET_POLICY.horizon, batch)
        await uow.commit()
    return count


async def _issue(
    uow: AuthUnitOfWork, purpose: str, user_id: int, until: datetime, new_email: str | None = None
) -> str:
    """A new token of ``purpose``, usable ``until``: its digest stored in the caller's
    transaction."""
    token = new_mailed_token()
    await uow.mailed_tokens.add(
        MailedToken(
            digest=token_digest(token),
            purpose=purpose,
            user_id=user_id,
            new_email=new_email,
            expires_at=until,
        )
    )
    return token


async def _spend(uow: AuthUnitOfWork, digest: str, purpose: str) -> MailedToken | None:
    """The token, locked and marked used, if it is usable for ``purpose``; else None."""
    row = await uow.mailed_tokens.lock(digest)
    now = datetime.now(UTC)
    if row is None or row.purpose != purpose or not usable(row.expires_at, row.used_at, now):
        return None
    row.used_at = now
    return row
