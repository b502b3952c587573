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
from sqlalchemy import delete, exists, or_, update
from sqlmodel import select

from auth_service.adapters.db.tables import RefreshToken, UserAccount, WebSession
from auth_service.domain.refresh import (
    TOKEN_PATTERN,
    Outcome,
    TokenState,
    chain_secret,
    decide,
    first_token,
    successor,
)
from unimatch_shared import access_tokens
from unimatch_shared.access_tokens import AccessClaims
from unimatch_shared.sessions import token_digest
from unimatch_shared.unit_of_work import UnitOfWork
from unimatch_shared.web import WebNotAuthenticated

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
        self._secret = chain_secret(raw)
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self._grace = grace

    def access(self, user_id: int, is_staff: bool) -> str:
        claims = AccessClaims(user_id=user_id, is_staff=is_staff)
        return access_tokens.sign(self._key, claims, self.access_lifetime)

    async def open(self, uow: UnitOfWork, account: UserAccount) -> str:
        """A new session in the caller's transaction; its first refresh token."""
        session = WebSession(user_id=account.id)
        uow.session.add(session)
        await uow.session.flush()
        token = first_token()
        self._add_token(uow, session.id, token, datetime.now(UTC))
        return token

    async def refresh(self, uow: UnitOfWork, presented: str) -> WebTokens:
        """Rotate ``presented``; a 401 unless it opens a live session (a spent one used again
        after the grace ends its session first)."""
        async with uow:
            found = await self._lock(uow, presented)
            if found is None:
                raise WebNotAuthenticated()
            token, session, account = found
            now = datetime.now(UTC)  # after the lock: a refresh it waited for is in the past
            state = TokenState(token.expires_at, token.used_at, session.ended_at is not None)
            outcome = decide(state, now, self._grace)
            current = None
            if outcome is Outcome.ROTATE:
                token.used_at = now
                uow.session.add(token)
                current = successor(self._secret, presented)
                self._add_token(uow, session.id, current, now)
            elif outcome is Outcome.REPLAY:
                current = await self._current(uow, session.id, presented)
            elif outcome is Outcome.REVOKE:
                session.ended_at = now
                uow.session.add(session)
            await uow.commit()
        if current is None:
            raise WebNotAuthenticated()
        return WebTokens(self.access(account.id, account.is_staff), current)

    async def end(self, uow: UnitOfWork, presented: str) -> None:
        """Logout: end the session ``presented`` belongs to (spent or not); 401 if none."""
        async with uow:
            found = await self._lock(uow, presented)
            if found is None:
                raise WebNotAuthenticated()
            _, session, _ = found
            session.ended_at = session.ended_at or datetime.now(UTC)
            uow.session.add(session)
            await uow.commit()

    async def _lock(self, uow: UnitOfWork, presented: str):
        """The token, its session (locked FOR UPDATE: one refresh per session at a time) and
        its account; None for a malformed or unknown token.

        The token is read again after the lock is granted, in a statement of its own: under
        READ COMMITTED that one sees what the refresh it waited for committed."""
        if not TOKEN_PATTERN.fullmatch(presented):
            return None
        digest = token_digest(presented)
        session_id = (
            await uow.session.exec(
                select(RefreshToken.session_id).where(RefreshToken.digest == digest)
            )
        ).first()
        if session_id is None:
            return None
        session = (
            await uow.session.exec(
                select(WebSession).where(WebSession.id == session_id).with_for_update()
            )
        ).one()
        token = await uow.session.get(RefreshToken, digest)
        account = await uow.session.get(UserAccount, session.user_id)
        return token, session, account

    async def _current(self, uow: UnitOfWork, session_id: int, presented: str) -> str | None:
        """The session's unspent token, following ``presented``'s successors; None if the
        chain breaks (a successor made under a previous signing key)."""
        token = presented
        for _ in range(MAX_REPLAY_STEPS):
            token = successor(self._secret, token)
            row = await uow.session.get(RefreshToken, token_digest(token))
            if row is None or row.session_id != session_id:
                return None
            if row.used_at is None:
                return token
        return None

    def _add_token(self, uow: UnitOfWork, session_id: int, token: str, now: datetime) -> None:
        uow.session.add(
            RefreshToken(
                digest=token_digest(token),
                session_id=session_id,
                expires_at=now + self.refresh_lifetime,
            )
        )


async def forget_finished_web_sessions(uow: UnitOfWork, batch: int = 500) -> int:
    """Delete up to ``batch`` web sessions that are over (ended, or with no unexpired token)
    and expired tokens of live ones; rows others are deleting are skipped. Spent tokens stay
    until they expire: reuse detection needs them. Returns how many rows went."""
    now = datetime.now(UTC)
    live_token = select(RefreshToken.digest).where(
        RefreshToken.session_id == WebSession.id, RefreshToken.expires_at > now
    )
    async with uow:
        over = (
            select(WebSession.id)
            .where(or_(WebSession.ended_at.is_not(None), ~exists(live_token)))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        sessions = await uow.session.exec(
            delete(WebSession).where(WebSession.id.in_(over)).returning(WebSession.id)
        )
        expired = (
            select(RefreshToken.digest)
            .where(RefreshToken.expires_at <= now)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        tokens = await uow.session.exec(
            delete(RefreshToken)
            .where(RefreshToken.digest.in_(expired))
            .returning(RefreshToken.digest)
        )
        count = len(sessions.all()) + len(tokens.all())
        await uow.commit()
    return count


async def end_web_sessions(uow: UnitOfWork, user_id: int) -> None:
    """A password change: every web session of the account ends (caller's transaction)."""
    await uow.session.exec(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC))
    )
