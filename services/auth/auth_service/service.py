"""The auth service layer: each use case is one function over a unit of work."""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth_service.adapters.db.tables import LoginFailure, UserAccount
from auth_service.adapters.hashing import OVERLOADED
from auth_service.domain.credentials import (
    InvalidCredential,
    check_password,
    new_token,
    normalize_email,
)
from auth_service.domain.errors import (
    BadCredentials,
    EmailTaken,
    ProfileRefused,
    TelegramLoginRefused,
    TelegramNotConfigured,
)
from auth_service.domain.passwords import NO_PASSWORD, hash_password, verify_password
from auth_service.domain.throttle import POLICY, client_of, retry_after
from auth_service.mailed_links import password_changed
from auth_service.unit_of_work import AuthUnitOfWork, Hashing, LiveSessionStore, Lookups
from unimatch_shared.errors import Invalid, ServiceUnavailable, TryLater
from unimatch_shared.events import AccountDeleted, UserRegistered
from unimatch_shared.rpc import (
    CreateProfile,
    CreateProfileReply,
    FindTelegramUser,
    JoinByTelegram,
    JoinByTelegramReply,
    LinkTelegramUser,
    Requester,
)
from unimatch_shared.schemas import TelegramLogin
from unimatch_shared.sessions import Session, token_digest

# How long a login may wait for another login of the same account to finish its check.
LOGIN_QUEUE_SECONDS = 0.5
# How long a login may take until its password is checked, queueing included: with its last
# short transaction, every login is answered within about 1.5 s, never past a client's 2 s
# (docs/adr/012). The hashing budget alone would allow the queue's 0.5 s on top of 1 s.
LOGIN_CHECK_SECONDS = 1.2
# How long a sign-up refused for a taken email is held before its answer: about what a
# sign-up that hashes takes, so the two do not differ by timing, and a client retrying in a
# loop is paced by the clock rather than by auth's CPU (docs/adr/012).
TAKEN_EMAIL_PAUSE_SECONDS = 0.2
# Opens a session for an account inside the caller's transaction; returns what the client
# gets to hold (a seed token, or a web session's refresh token).
SessionOpener = Callable[[AuthUnitOfWork, UserAccount], Awaitable[str]]


async def register(
    uow: AuthUnitOfWork,
    messaging: Requester,
    sessions: LiveSessionStore,
    passwords: Hashing,
    lookups: Lookups,
    email: str,
    password: str,
    profile: dict,
    open_session: SessionOpener | None = None,
) -> tuple[CreateProfileReply, str]:
    """Create the account, have profile store the rest, and open the first session: a seed
    token's, or the one ``open_session`` opens (a web session's refresh token).

    A taken email is refused before any hashing, so failed sign-ups cost no Argon2 time (the
    unique index still decides a race), after ``TAKEN_EMAIL_PAUSE_SECONDS``. The account row
    is written but not committed while profile validates and stores the profile; if profile
    refuses or is unreachable, the transaction rolls back and nothing of the account remains
    (docs/adr/001-registration-across-contexts.md).
    """
    if await lookups.email_taken(email):
        await asyncio.sleep(TAKEN_EMAIL_PAUSE_SECONDS)  # holds no connection meanwhile
        raise EmailTaken()
    password_hash = await passwords.run(hash_password, password)
    async with uow:
        account = UserAccount(email=email, password_hash=password_hash)
        await uow.accounts.add(account)
        request = CreateProfile(user_id=account.id, email=email, **profile)
        reply = await messaging.request(request)
        if reply.errors:
            raise ProfileRefused(reply.errors)
        token = await (open_session or _seed_session(sessions))(uow, account)
        uow.emit(UserRegistered(**request.model_dump()))
        await uow.commit()
    return reply, token


@dataclass(frozen=True)
class Login:
    token: str
    device: str  # the device cookie's value
    user_id: int
    is_staff: bool


_TOKEN = re.compile(r"[0-9a-f]{40}")  # what new_token() makes
DEVICES_PER_ACCOUNT = 20


async def log_in(
    uow: AuthUnitOfWork,
    sessions: LiveSessionStore,
    passwords: Hashing,
    email: str,
    password: str,
    client: str,
    device: str | None = None,
    device_lifetime: timedelta = timedelta(days=180),
    open_session: SessionOpener | None = None,
) -> Login:
    """A new session's token (a seed token, or what ``open_session`` opens) and the device
    cookie to set; throttled per docs/adr/009-login-throttling.md.

    ``device`` is the cookie the client sent: a device that logged in to this account within
    ``device_lifetime`` is throttled by its own failures only, so guessers elsewhere cannot
    lock the real user out. A successful login returns that cookie (renewed) or a new one.

    Check and record are one step per email: under a lock keyed by the email (and one keyed
    by the client's network), a short transaction counts the failures and, if the attempt may
    go ahead, records it as a failure at once — "in flight" — so a concurrent attempt already
    counts it. The password is then verified with no database connection held
    (docs/adr/012); a second transaction forgets the pair's failures on success, or lets the
    recorded failure stand. An attempt shed before its password was checked (503) is
    withdrawn.

    Unknown email and wrong password fail alike, in about the same time (decoy hash). A hash
    made with older parameters is replaced on success.
    """
    check_by = time.monotonic() + LOGIN_CHECK_SECONDS
    key = _login_key(email)
    where = client_of(client)
    presented = token_digest(device) if device and _TOKEN.fullmatch(device) else None
    # The in-process lock first: one connection per process waits for the database's. A
    # login waits for it at most LOGIN_QUEUE_SECONDS, and for hashing at most what is left of
    # LOGIN_CHECK_SECONDS: a flood of logins on one account is answered within about 1.5 s.
    async with _LOGIN_LOCKS.hold(key, LOGIN_QUEUE_SECONDS), uow:
        await uow.lock(f"auth.login.email:{key}")
        await uow.lock(f"auth.login.network:{where.network}")
        now = datetime.now(UTC)
        failures = await uow.attempts.failed_logins(key, where.network, now - POLICY.horizon)
        account = await uow.accounts.by_email(key)
        trusted = None
        if account and presented:
            last_login = await uow.attempts.device_last_login(presented, account.id)
            if last_login and last_login > now - device_lifetime:
                trusted = presented
        wait = retry_after(failures, key, where, now, device=trusted)
        if wait:
            raise TryLater(wait)
        attempt = LoginFailure(
            email=key, client=where.host, network=where.network, device=trusted, failed_at=now
        )
        await uow.attempts.record_login(attempt)
        await uow.attempts.forget_logins_before(now - POLICY.horizon)
        await uow.commit()
    stored_hash = account.password_hash if account else None
    try:
        valid, new_hash = await passwords.run(
            verify_password, password, stored_hash, within=check_by - time.monotonic()
        )
    except ServiceUnavailable:
        async with uow:
            await uow.attempts.withdraw_login(attempt)
            await uow.commit()
        raise
    if not valid:
        raise BadCredentials()
    async with uow:
        await uow.attempts.forgive_logins(key, where.host, trusted)
        if new_hash:
            account.password_hash = new_hash
            await uow.accounts.save(account)
        token = await (open_session or _seed_session(sessions))(uow, account)
        device = device if presented else new_token()
        await uow.attempts.trust_device(
            token_digest(device), account.id, now, device_lifetime, DEVICES_PER_ACCOUNT
        )
        await uow.commit()
    return Login(token, device, account.id, account.is_staff)


class _KeyedLocks:
    """asyncio locks by key, each dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str, wait: float) -> AsyncIterator[None]:
        """Hold ``key``'s lock; if it is not free within ``wait`` seconds, shed the caller
        with ``503`` and ``Retry-After`` rather than queue it (docs/adr/012)."""
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(wait):
                    await lock.acquire()
            except TimeoutError:
                raise ServiceUnavailable(OVERLOADED, retry_after=1) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_LOGIN_LOCKS = _KeyedLocks()


def _seed_session(sessions: LiveSessionStore) -> SessionOpener:
    async def open_session(uow: AuthUnitOfWork, account: UserAccount) -> str:
        """A new token: its digest in this transaction and in the session store.

        The store is written before the commit, so the token works everywhere the moment the
        client has it; if the commit then fails, the stored session belongs to a token nobody
        was given."""
        token = new_token()
        digest = token_digest(token)
        await uow.seed_tokens.add(digest, account.id)
        await sessions.save(digest, Session(user_id=account.id, is_staff=account.is_staff))
        return token

    return open_session


def _login_key(email: str) -> str:
    """The email as stored; a malformed one (never an account) as typed, for throttling."""
    try:
        return normalize_email(email)
    except ValueError:
        return email.strip().lower()[:254]


async def log_in_with_telegram(
    uow: AuthUnitOfWork, messaging: Requester, login: TelegramLogin, open_session: SessionOpener
) -> tuple[UserAccount, str]:
    """A web login with the Telegram widget: the account linked to that Telegram account, or
    a new one without a password (docs/api.md, Web surface), and a session opened for it.

    Notifier, which knows the bot and the links, checks the payload. A new account is made
    as a sign-up is (ADR 001): the account row stays uncommitted while profile stores the
    profile (names from Telegram) and notifier links the Telegram account; if either
    refuses, nothing of the account remains. Its email is a placeholder under the reserved
    ``.invalid`` domain, so it can never collide with a real one.
    """
    found = await messaging.request(FindTelegramUser(login=login))
    if not found.configured:
        raise TelegramNotConfigured()
    if not found.valid:
        raise TelegramLoginRefused()
    async with uow:
        account = await uow.accounts.get(found.user_id) if found.user_id else None
        if account is None:
            account = await _telegram_account(uow, messaging, login)
        token = await open_session(uow, account)
        await uow.commit()
    return account, token


def telegram_email(telegram_id: int) -> str:
    return f"telegram-{telegram_id}@telegram.invalid"


async def _telegram_account(
    uow: AuthUnitOfWork, messaging: Requester, login: TelegramLogin
) -> UserAccount:
    """The account of an unlinked Telegram login: made before (and unlinked since), or new;
    linked to it now."""
    email = telegram_email(login.id)
    account = await uow.accounts.by_email(email)
    new = account is None
    if new:
        account = UserAccount(email=email, password_hash=NO_PASSWORD)
        await _add_racing(uow, account)  # the same Telegram account, logging in twice at once
        names = {
            field: (getattr(login, field) or "")[:150] for field in ("first_name", "last_name")
        }
        request = CreateProfile(user_id=account.id, email=email, **names)
        reply = await messaging.request(request)
        if reply.errors:
            raise TelegramLoginRefused(reply.errors)
    linked = await messaging.request(LinkTelegramUser(user_id=account.id, login=login))
    if not linked.valid or linked.errors:
        raise TelegramLoginRefused(linked.errors)
    if new:
        uow.emit(UserRegistered(**request.model_dump()))
    return account


async def _add_racing(uow: AuthUnitOfWork, account: UserAccount) -> None:
    """Add an account whose email can only be taken by a concurrent twin of this very
    request: that one is answered with a ``503`` to retry (and then finds the account)."""
    try:
        await uow.accounts.add(account)
    except EmailTaken as exc:
        raise ServiceUnavailable(retry_after=1) from exc


async def join_by_telegram(
    uow: AuthUnitOfWork, messaging: Requester, request: JoinByTelegram
) -> JoinByTelegramReply:
    """Someone joining in the bot: their account, made now as a sign-up makes one (ADR 001:
    uncommitted while profile stores the profile; nothing remains if it refuses), without a
    password until one is set by the email reset.

    Idempotent per Telegram user, so the notifier may ask again after a crash: the account
    made for them before (``telegram_id``), or the one a widget login made (its placeholder
    email), is answered instead (docs/adr/020-telegram-conversations.md).
    """
    placeholder = telegram_email(request.telegram_id)
    try:
        email = normalize_email(request.email) if request.email else placeholder
    except InvalidCredential as exc:
        raise Invalid({"email": [str(exc)]}) from None
    async with uow:
        existing = await uow.accounts.joined_by_telegram(request.telegram_id, placeholder)
        if existing is not None:
            return JoinByTelegramReply(user_id=existing.id)
        if await uow.accounts.by_email(email) is not None:
            raise EmailTaken()
        account = UserAccount(
            email=email, password_hash=NO_PASSWORD, telegram_id=request.telegram_id
        )
        await _add_racing(uow, account)  # the same person or email, joining twice at once
        profile = CreateProfile(
            user_id=account.id,
            email=email,
            first_name=request.first_name,
            last_name=request.last_name,
            hobby=request.hobby,
        )
        reply = await messaging.request(profile)
        if reply.errors:
            raise ProfileRefused(reply.errors)
        uow.emit(UserRegistered(**profile.model_dump()))
        await uow.commit()
    return JoinByTelegramReply(user_id=account.id, created=True)


async def log_out(uow: AuthUnitOfWork, sessions: LiveSessionStore, token: str) -> None:
    """End the session everywhere before answering.

    The row is deleted first and the store entry while its lock is held; if the store cannot
    be reached the whole logout fails (503) and the token stays valid everywhere, rather
    than half-revoked."""
    digest = token_digest(token)
    async with uow:
        await uow.seed_tokens.delete(digest)
        await sessions.remove(digest)
        await uow.commit()


async def delete_account(uow: AuthUnitOfWork, sessions: LiveSessionStore, user_id: int) -> bool:
    """The bot's /leave (``DeleteAccount``): the account goes, its sessions end, and
    ``account.deleted`` is published with the deletion, in one transaction; False if there
    was no such account.

    The account row is locked first, so a login finishing meanwhile commits its session
    before (and it is ended here) or finds no account. Session store entries are deleted
    before the commit, as a logout does: if the commit then fails, the tokens are dead but
    the account stays, never the other way round. Deleting the row cascades to its session
    rows, trusted devices and web sessions with their refresh tokens; an access token
    already handed out lives on until it expires (minutes), finding no profile."""
    async with uow:
        account = await uow.accounts.get(user_id, for_update=True)
        if account is None:
            return False
        for digest in await uow.seed_tokens.digests_of(user_id):
            await sessions.remove(digest)
        await uow.accounts.delete(account)
        uow.emit(AccountDeleted(user_id=user_id))
        await uow.commit()
    return True


async def restore_sessions(uow: AuthUnitOfWork, sessions: LiveSessionStore) -> int:
    """Write every live session of the table to a store that was just created (first start,
    or JetStream's data lost); returns how many. Sessions idle too long stay expired.

    The rows are read ``FOR SHARE``, so a logout meanwhile waits for this to finish and then
    deletes its entry: none is restored after being revoked."""
    idle_since = datetime.now(UTC) - timedelta(seconds=sessions.idle_seconds)
    async with uow:
        restored = 0
        for digest, user_id, is_staff in await uow.seed_tokens.seen_since(idle_since):
            await sessions.save(digest, Session(user_id=user_id, is_staff=is_staff))
            restored += 1
        await uow.commit()
    return restored


async def renew_session(uow: AuthUnitOfWork, sessions: LiveSessionStore, digest: str) -> bool:
    """A reader saw this session in use (``SessionSeen``): start its idle time again, in the
    store and in the table. Nothing for a session logged out or expired meanwhile: the row is
    locked first (a logout waits, or has already deleted it), and the store entry is only
    rewritten at the revision just read, so a deleted one is never brought back."""
    async with uow:
        row = await uow.seed_tokens.lock(digest)
        found = await sessions.entry(digest) if row else None
        if found is None:
            return False
        stored, revision = found
        if datetime.now(UTC).timestamp() - stored.renewed_at < sessions.renew_after:
            return False  # another instance has just renewed it
        await uow.seed_tokens.mark_seen(row, datetime.now(UTC))
        if not await sessions.renew(digest, stored, revision):
            return False
        await uow.commit()
    return True


async def forget_idle_sessions(uow: AuthUnitOfWork, idle: timedelta, batch: int = 500) -> int:
    """Delete up to ``batch`` sessions unused for ``idle`` (their store entries have expired on
    their own); rows other workers are deleting are skipped. Returns how many."""
    async with uow:
        count = await uow.seed_tokens.forget_unseen_since(datetime.now(UTC) - idle, batch)
        await uow.commit()
    return count


async def ensure_admin(
    uow: AuthUnitOfWork, sessions: LiveSessionStore, email: str, password: str
) -> None:
    """The operator's staff account from UNIMATCH_ADMIN_*: created once, password kept current.
    A changed password ends the account's web sessions and its reset links.

    A new admin is announced like any registration, so profile gives it a profile too. An
    existing account made staff has its open sessions updated to say so. Every worker of every
    instance runs this at start-up, so it holds a transaction-scoped advisory lock: the others
    wait, then find the account instead of failing on its unique email.
    """
    email = normalize_email(email)
    password_hash = hash_password(check_password(password))
    async with uow:
        await uow.lock("auth.ensure_admin")
        account = await uow.accounts.by_email(email)
        if account is None:
            account = UserAccount(email=email, password_hash=password_hash, is_staff=True)
            await uow.accounts.add(account)
            uow.emit(UserRegistered(user_id=account.id, email=email))
        else:
            if not account.is_staff:
                for digest in await uow.seed_tokens.digests_of(account.id):
                    await sessions.save(digest, Session(user_id=account.id, is_staff=True))
            account.is_staff = True
            unchanged, _ = verify_password(password, account.password_hash)
            if not unchanged:
                await password_changed(uow, None, account.id)
            account.password_hash = password_hash
            await uow.accounts.save(account)
        await uow.commit()
