"""Web sessions (docs/adr/015-web-sessions.md): refresh-token families in auth's tables, and
the access tokens handed out with them. Independent of the seed surface's tokens.

Every refresh of one session runs under a lock on its ``web_session`` row, so concurrent
refreshes with the same cookie are served one after the other: the first spends the token,
the others find it spent a moment ago (within the grace) and get the same successor back.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auth_service.adapters.db.tables import RefreshToken, UserAccount
from auth_service.domain import refresh as rules
from auth_service.domain.errors import NoWebSession
from auth_service.unit_of_work import AuthUnitOfWork
from unimatch_shared import access_tokens
from unimatch_shared.access_tokens import AccessClaims
from unimatch_shared.sessions import token_digest

# How many rotations a replayed token may be behind the session's current one.
MAX_REPLAY_STEPS = 20


@dataclass(frozen=True)
class WebTokens:
    access: str
    refresh: str


class WebSessions:
    """Opens, refreshes and ends web sessions; signs their access tokens."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        access_lifetime: timedelta,
        refresh_lifetime: timedelta,
        grace: timedelta,
    ):
        self._key = key
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self._secret = rules.chain_secret(raw)
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self._grace = grace

    def access(self, user_id: int, is_staff: bool) -> str:
        claims = AccessClaims(user_id=user_id, is_staff=is_staff)
        return access_tokens.sign(self._key, claims, self.access_lifetime)

    async def open(self, uow: AuthUnitOfWork, account: UserAccount) -> str:
        """A new session in the caller's transaction; its first refresh token."""
        session = await uow.web_sessions.open(account.id)
        token = rules.first_token()
        await self._add_token(uow, session.id, token, datetime.now(UTC))
        return token

    async def refresh(self, uow: AuthUnitOfWork, presented: str) -> WebTokens:
        """Rotate ``presented``; ``NoWebSession`` unless it opens a live session (a spent one
        used again after the grace ends its session first)."""
        async with uow:
            found = await self._lock(uow, presented)
            if found is None:
                raise NoWebSession()
            token, session, account = found
            now = datetime.now(UTC)  # after the lock: a refresh it waited for is in the past
            state = rules.TokenState(token.expires_at, token.used_at, session.ended_at is not None)
            outcome = rules.decide(state, now, self._grace)
            current = None
            if outcome is rules.Outcome.ROTATE:
                token.used_at = now
                current = rules.successor(self._secret, presented)
                await self._add_token(uow, session.id, current, now)
            elif outcome is rules.Outcome.REPLAY:
                current = await self._current(uow, session.id, presented)
            elif outcome is rules.Outcome.REVOKE:
                session.ended_at = now
            await uow.commit()
        if current is None:
            raise NoWebSession()
        return WebTokens(self.access(account.id, account.is_staff), current)

    async def end(self, uow: AuthUnitOfWork, presented: str) -> None:
        """Logout: end the session ``presented`` belongs to (spent or not); ``NoWebSession``
        if none."""
        async with uow:
            found = await self._lock(uow, presented)
            if found is None:
                raise NoWebSession()
            _, session, _ = found
            session.ended_at = session.ended_at or datetime.now(UTC)
            await uow.commit()

    async def _lock(self, uow: AuthUnitOfWork, presented: str):
        """The token, its session (locked: one refresh per session at a time) and its
        account; None for a malformed or unknown token."""
        if not rules.TOKEN_PATTERN.fullmatch(presented):
            return None
        return await uow.web_sessions.lock_by_token(token_digest(presented))

    async def _current(self, uow: AuthUnitOfWork, session_id: int, presented: str) -> str | None:
        """The session's unspent token, following ``presented``'s successors; None if the
        chain breaks (a successor made under a previous signing key)."""
        token = presented
        for _ in range(MAX_REPLAY_STEPS):
            token = rules.successor(self._secret, token)
            row = await uow.web_sessions.token(token_digest(token))
            if row is None or row.session_id != session_id:
                return None
            if row.used_at is None:
                return token
        return None

    async def _add_token(
        self, uow: AuthUnitOfWork, session_id: int, token: str, now: datetime
    ) -> None:
        await uow.web_sessions.add_token(
            RefreshToken(
                digest=token_digest(token),
                session_id=session_id,
                expires_at=now + self.refresh_lifetime,
            )
        )


async def forget_finished_web_sessions(uow: AuthUnitOfWork, batch: int = 500) -> int:
    """Delete up to ``batch`` web sessions that are over (ended, or with no unexpired token)
    and expired tokens of live ones; rows others are deleting are skipped. Spent tokens stay
    until they expire: reuse detection needs them. Returns how many rows went."""
    async with uow:
        count = await uow.web_sessions.forget_finished(datetime.now(UTC), batch)
        await uow.commit()
    return count
