"""In-memory stand-ins for auth's repositories, session store, hashing threads and read-pool
checks, so each use case runs without PostgreSQL or NATS
(docs/adr/023-unit-of-work-and-repositories.md). Rows are plain objects, changed in place: a
test of a refusal checks that nothing was committed."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, Self, TypeVar

from auth_service.adapters.db import tables
from auth_service.adapters.db.tables import UserAccount
from auth_service.adapters.hashing import OVERLOADED
from auth_service.domain.errors import EmailTaken
from auth_service.domain.mailed_tokens import usable
from auth_service.domain.throttle import Failure
from tests.unit.fakes import FakeUnitOfWork
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.sessions import Session, StoredSession

T = TypeVar("T")
Row = TypeVar("Row")


def _delete_some(rows: dict[Any, Row], old: Callable[[Row], bool], batch: int) -> int:
    """Delete up to ``batch`` of ``rows`` that are ``old``; how many went."""
    gone = [key for key, row in rows.items() if old(row)][:batch]
    for key in gone:
        del rows[key]
    return len(gone)


class FakeAccounts:
    def __init__(self) -> None:
        self.rows: dict[int, UserAccount] = {}
        self._ids = count(1)
        self.on_delete: list[Callable[[int], None]] = []  # the foreign keys' cascades

    def _check_unique(self, account: UserAccount) -> None:
        for other in self.rows.values():
            if other.id == account.id:
                continue
            telegram = account.telegram_id is not None and other.telegram_id == account.telegram_id
            if other.email == account.email or telegram:
                raise EmailTaken()

    async def add(self, account: UserAccount) -> None:
        self._check_unique(account)
        account.id = next(self._ids)
        self.rows[account.id] = account

    async def save(self, account: UserAccount) -> None:
        assert account.id in self.rows, "saved accounts exist"
        self._check_unique(account)
        self.rows[account.id] = account

    async def get(self, user_id: int, for_update: bool = False) -> UserAccount | None:
        return self.rows.get(user_id)

    async def by_email(self, email: str) -> UserAccount | None:
        return next((a for a in self.rows.values() if a.email == email), None)

    async def joined_by_telegram(self, telegram_id: int, email: str) -> UserAccount | None:
        found = (a for a in self.rows.values() if telegram_id == a.telegram_id or a.email == email)
        return next(found, None)

    async def delete(self, account: UserAccount) -> None:
        assert account.id is not None
        del self.rows[account.id]
        for cascade in self.on_delete:
            cascade(account.id)

    def create(self, email: str, password_hash: str, is_staff: bool = False) -> UserAccount:
        """An account as a committed sign-up leaves it (for arranging a test)."""
        account = UserAccount(
            id=next(self._ids), email=email, password_hash=password_hash, is_staff=is_staff
        )
        self.rows[account.id] = account
        return account


class FakeSeedTokens:
    def __init__(self, accounts: FakeAccounts) -> None:
        self.rows: dict[str, tables.AuthToken] = {}
        self._accounts = accounts
        accounts.on_delete.append(self._cascade)

    def _cascade(self, user_id: int) -> None:
        self.rows = {d: t for d, t in self.rows.items() if t.user_id != user_id}

    async def add(self, digest: str, user_id: int) -> None:
        assert user_id in self._accounts.rows
        self.rows[digest] = tables.AuthToken(digest=digest, user_id=user_id)

    async def delete(self, digest: str) -> None:
        self.rows.pop(digest, None)

    async def digests_of(self, user_id: int) -> list[str]:
        return [d for d, t in self.rows.items() if t.user_id == user_id]

    async def delete_all_of(self, user_id: int) -> list[str]:
        digests = await self.digests_of(user_id)
        for digest in digests:
            del self.rows[digest]
        return digests

    async def seen_since(self, since: datetime) -> list[tuple[str, int, bool]]:
        return [
            (d, t.user_id, self._accounts.rows[t.user_id].is_staff)
            for d, t in self.rows.items()
            if t.last_seen_at > since
        ]

    async def lock(self, digest: str) -> tables.AuthToken | None:
        return self.rows.get(digest)

    async def mark_seen(self, token: tables.AuthToken, at: datetime) -> None:
        token.last_seen_at = at

    async def forget_unseen_since(self, since: datetime, batch: int) -> int:
        return _delete_some(self.rows, lambda t: t.last_seen_at <= since, batch)


class FakeAttempts:
    def __init__(self, accounts: FakeAccounts) -> None:
        self.logins: list[tables.LoginFailure] = []
        self.devices: dict[tuple[str, int], datetime] = {}  # (digest, user id) -> last login
        self.resets: list[tables.ResetRequest] = []
        self._ids = count(1)
        accounts.on_delete.append(self._cascade)

    def _cascade(self, user_id: int) -> None:
        self.devices = {k: at for k, at in self.devices.items() if k[1] != user_id}

    async def failed_logins(self, email: str, network: str, since: datetime) -> list[Failure]:
        return [
            Failure(f.email, f.client, f.failed_at, f.network, f.device)
            for f in self.logins
            if (f.email == email or f.network == network) and f.failed_at > since
        ]

    async def record_login(self, attempt: tables.LoginFailure) -> None:
        attempt.id = next(self._ids)
        self.logins.append(attempt)

    async def withdraw_login(self, attempt: tables.LoginFailure) -> None:
        self.logins = [f for f in self.logins if f.id != attempt.id]

    async def forgive_logins(self, email: str, client: str, device: str | None) -> None:
        def forgiven(f: tables.LoginFailure) -> bool:
            return f.email == email and (f.client == client or bool(device and f.device == device))

        self.logins = [f for f in self.logins if not forgiven(f)]

    async def forget_logins_of(self, email: str) -> None:
        self.logins = [f for f in self.logins if f.email != email]

    async def forget_logins_before(self, cutoff: datetime) -> None:
        self.logins = [f for f in self.logins if f.failed_at > cutoff]

    async def device_last_login(self, digest: str, user_id: int) -> datetime | None:
        return self.devices.get((digest, user_id))

    async def trust_device(
        self, digest: str, user_id: int, now: datetime, lifetime: timedelta, keep: int
    ) -> None:
        self.devices[(digest, user_id)] = now
        own = sorted(
            (
                (at, d)
                for (d, u), at in self.devices.items()
                if u == user_id and at > now - lifetime
            ),
            reverse=True,
        )
        kept = {d for _, d in own[:keep]}
        self.devices = {k: at for k, at in self.devices.items() if k[1] != user_id or k[0] in kept}

    async def reset_requests(self, email: str, network: str, since: datetime) -> list[Failure]:
        return [
            Failure(r.email, r.client, r.requested_at, r.network)
            for r in self.resets
            if (r.email == email or r.network == network) and r.requested_at > since
        ]

    async def record_reset_request(self, request: tables.ResetRequest) -> None:
        self.resets.append(request)

    async def forget_reset_requests_before(self, cutoff: datetime, batch: int) -> int:
        old = [r for r in self.resets if r.requested_at <= cutoff][:batch]
        self.resets = [r for r in self.resets if all(r is not o for o in old)]
        return len(old)


class FakeWebSessions:
    def __init__(self, accounts: FakeAccounts) -> None:
        self.sessions: dict[int, tables.WebSession] = {}
        self.tokens: dict[str, tables.RefreshToken] = {}
        self._accounts = accounts
        self._ids = count(1)
        accounts.on_delete.append(self._cascade)

    def _cascade(self, user_id: int) -> None:
        gone = {i for i, s in self.sessions.items() if s.user_id == user_id}
        self._forget(gone)

    def _forget(self, session_ids: set[int]) -> None:
        self.sessions = {i: s for i, s in self.sessions.items() if i not in session_ids}
        self.tokens = {d: t for d, t in self.tokens.items() if t.session_id not in session_ids}

    async def open(self, user_id: int) -> tables.WebSession:
        session = tables.WebSession(id=next(self._ids), user_id=user_id)
        self.sessions[session.id] = session
        return session

    async def add_token(self, token: tables.RefreshToken) -> None:
        assert token.session_id in self.sessions and token.digest not in self.tokens
        self.tokens[token.digest] = token

    async def token(self, digest: str) -> tables.RefreshToken | None:
        return self.tokens.get(digest)

    async def lock_by_token(
        self, digest: str
    ) -> tuple[tables.RefreshToken, tables.WebSession, UserAccount] | None:
        token = self.tokens.get(digest)
        if token is None:
            return None
        session = self.sessions[token.session_id]
        return token, session, self._accounts.rows[session.user_id]

    async def end_all_of(self, user_id: int, at: datetime) -> None:
        for session in self.sessions.values():
            if session.user_id == user_id and session.ended_at is None:
                session.ended_at = at

    async def forget_finished(self, now: datetime, batch: int) -> int:
        live = {t.session_id for t in self.tokens.values() if t.expires_at > now}
        over = [i for i, s in self.sessions.items() if s.ended_at or i not in live][:batch]
        self._forget(set(over))
        return len(over) + _delete_some(self.tokens, lambda t: t.expires_at <= now, batch)


class FakeMailedTokens:
    def __init__(self, accounts: FakeAccounts) -> None:
        self.rows: dict[str, tables.MailedToken] = {}
        accounts.on_delete.append(self._cascade)

    def _cascade(self, user_id: int) -> None:
        self.rows = {d: t for d, t in self.rows.items() if t.user_id != user_id}

    async def add(self, token: tables.MailedToken) -> None:
        self.rows[token.digest] = token

    async def lock(self, digest: str) -> tables.MailedToken | None:
        return self.rows.get(digest)

    async def made_since(
        self, user_id: int, purpose: str, since: datetime
    ) -> list[tables.MailedToken]:
        return [
            t
            for t in self.rows.values()
            if t.user_id == user_id and t.purpose == purpose and t.created_at > since
        ]

    async def void(self, user_id: int, purpose: str, at: datetime) -> None:
        for token in self.rows.values():
            if token.user_id == user_id and token.purpose == purpose and token.used_at is None:
                token.used_at = at

    async def forget_expired_before(self, cutoff: datetime, batch: int) -> int:
        return _delete_some(self.rows, lambda t: t.expires_at <= cutoff, batch)

    def usable(self, digest: str, purpose: str, user_id: int) -> bool:
        token = self.rows.get(digest)
        return (
            token is not None
            and (token.purpose, token.user_id) == (purpose, user_id)
            and usable(token.expires_at, token.used_at, datetime.now(UTC))
        )


class FakeAuthUnitOfWork(FakeUnitOfWork):
    """One fake auth database: reuse it across use cases. A transaction left without
    ``commit()`` leaves the repositories as they were, as the database would."""

    REPOSITORIES = ("accounts", "seed_tokens", "attempts", "web_sessions", "mailed_tokens")

    def __init__(self) -> None:
        super().__init__()
        self.accounts = FakeAccounts()
        self.seed_tokens = FakeSeedTokens(self.accounts)
        self.attempts = FakeAttempts(self.accounts)
        self.web_sessions = FakeWebSessions(self.accounts)
        self.mailed_tokens = FakeMailedTokens(self.accounts)

    async def __aenter__(self) -> Self:
        # One deep copy of them all, so the copies refer to each other as the originals do.
        self._before = copy.deepcopy([getattr(self, name) for name in self.REPOSITORIES])
        self._commits_before = self.commits
        return await super().__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        if self.commits == self._commits_before:  # not committed: rolled back
            for name, repository in zip(self.REPOSITORIES, self._before, strict=True):
                setattr(self, name, repository)
        await super().__aexit__(*exc_info)


class FakeLookups:
    """The read pool's checks, on the fake database (as if replication were instant)."""

    def __init__(self, uow: FakeAuthUnitOfWork) -> None:
        self._uow = uow

    async def email_taken(self, email: str) -> bool:
        return await self._uow.accounts.by_email(email) is not None

    async def mailed_token_usable(self, digest: str, purpose: str, user_id: int) -> bool:
        return self._uow.mailed_tokens.usable(digest, purpose, user_id)


class FakeSessionStore:
    """The session store's bucket: entries with revisions; ``reachable = False`` makes every
    call fail as an unreachable NATS does (503)."""

    def __init__(self, idle_seconds: float = 3600, renew_after: float = 60) -> None:
        self.entries: dict[str, tuple[StoredSession, int]] = {}
        self.idle_seconds = idle_seconds
        self.renew_after = renew_after
        self.reachable = True
        self._revisions = count(1)

    def _check(self) -> None:
        if not self.reachable:
            raise ServiceUnavailable()

    async def save(self, digest: str, session: Session) -> None:
        self._check()
        now = datetime.now(UTC).timestamp()
        stored = StoredSession(user_id=session.user_id, is_staff=session.is_staff, renewed_at=now)
        self.entries[digest] = (stored, next(self._revisions))

    async def remove(self, digest: str) -> None:
        self._check()
        self.entries.pop(digest, None)

    async def entry(self, digest: str) -> tuple[StoredSession, int] | None:
        self._check()
        return self.entries.get(digest)

    async def renew(self, digest: str, session: Session, revision: int) -> bool:
        self._check()
        if digest not in self.entries or self.entries[digest][1] != revision:
            return False
        await self.save(digest, session)
        return True


class InlineHashing:
    """Hashing on the caller's thread; ``overloaded = True`` sheds every call (503), as the
    hashing threads do when their budget runs out."""

    def __init__(self) -> None:
        self.overloaded = False

    async def run(self, work: Callable[..., T], *args: object, within: float | None = None) -> T:
        if self.overloaded or (within is not None and within <= 0):
            raise ServiceUnavailable(OVERLOADED, retry_after=1)
        return work(*args)
