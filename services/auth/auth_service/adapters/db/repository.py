"""Queries on the auth schema, so the service layer reads as use cases: one repository per
kind of row (auth_service/unit_of_work.py declares what each offers)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from auth_service.adapters.db.tables import (
    AuthToken,
    LoginFailure,
    MailedToken,
    RefreshToken,
    ResetRequest,
    TrustedDevice,
    UserAccount,
    WebSession,
)
from auth_service.domain.errors import EmailTaken
from auth_service.domain.throttle import Failure
from unimatch_shared.db import Repository


class _Repository(Repository):
    async def _delete_some(self, key: Any, *conditions: ColumnElement[bool], batch: int) -> int:
        """Delete up to ``batch`` rows (by primary key ``key``) that meet ``conditions``; rows
        another transaction is deleting are skipped, not waited for: no lock order, no
        deadlock. Returns how many went."""
        some = select(key).where(*conditions).limit(batch).with_for_update(skip_locked=True)
        deleted = await self.session.exec(delete(key.table).where(key.in_(some)).returning(key))
        return len(deleted.all())


class AccountRepository(_Repository):
    async def add(self, account: UserAccount) -> None:
        """Store a new account (flushed: it gets its id)."""
        self.session.add(account)
        await self.save(account)

    async def save(self, account: UserAccount) -> None:
        """Write the account's changes now (also one loaded by an earlier transaction)."""
        self.session.add(account)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise EmailTaken() from exc

    async def get(self, user_id: int, for_update: bool = False) -> UserAccount | None:
        return await self.session.get(UserAccount, user_id, with_for_update=for_update)

    async def by_email(self, email: str) -> UserAccount | None:
        found = await self.session.exec(select(UserAccount).where(UserAccount.email == email))
        return found.first()

    async def joined_by_telegram(self, telegram_id: int, email: str) -> UserAccount | None:
        """The account of this Telegram user, or the one with this (placeholder) email."""
        found = await self.session.exec(
            select(UserAccount).where(
                or_(col(UserAccount.telegram_id) == telegram_id, col(UserAccount.email) == email)
            )
        )
        return found.first()

    async def delete(self, account: UserAccount) -> None:
        """The account, and by cascade its sessions, devices and tokens."""
        await self.session.delete(account)


class SeedTokenRepository(_Repository):
    async def add(self, digest: str, user_id: int) -> None:
        self.session.add(AuthToken(digest=digest, user_id=user_id))

    async def delete(self, digest: str) -> None:
        await self.session.exec(delete(AuthToken).where(col(AuthToken.digest) == digest))

    async def digests_of(self, user_id: int) -> list[str]:
        found = await self.session.exec(
            select(AuthToken.digest).where(AuthToken.user_id == user_id)
        )
        return list(found.all())

    async def delete_all_of(self, user_id: int) -> list[str]:
        """Delete the account's tokens; their digests."""
        deleted = await self.session.exec(
            delete(AuthToken)
            .where(col(AuthToken.user_id) == user_id)
            .returning(col(AuthToken.digest))
        )
        return list(deleted.scalars().all())

    async def seen_since(self, since: datetime) -> list[tuple[str, int, bool]]:
        """Digest, user id and staff flag of the sessions seen since ``since``; read ``FOR
        SHARE``, so a logout meanwhile waits for this transaction."""
        rows = await self.session.exec(
            select(AuthToken.digest, AuthToken.user_id, UserAccount.is_staff)
            .join(UserAccount, col(AuthToken.user_id) == UserAccount.id)
            .where(AuthToken.last_seen_at > since)
            .with_for_update(read=True, of=AuthToken)
        )
        return list(rows.all())

    async def lock(self, digest: str) -> AuthToken | None:
        found = await self.session.exec(
            select(AuthToken).where(AuthToken.digest == digest).with_for_update()
        )
        return found.first()

    async def mark_seen(self, token: AuthToken, at: datetime) -> None:
        token.last_seen_at = at
        self.session.add(token)
        await self.session.flush()

    async def forget_unseen_since(self, since: datetime, batch: int) -> int:
        return await self._delete_some(
            col(AuthToken.digest), col(AuthToken.last_seen_at) <= since, batch=batch
        )


class AttemptRepository(_Repository):
    async def failed_logins(self, email: str, network: str, since: datetime) -> list[Failure]:
        """Failed logins since ``since`` of this email, or from this network."""
        found = await self._recent(LoginFailure, col(LoginFailure.failed_at), email, network, since)
        return [Failure(f.email, f.client, f.failed_at, f.network, f.device) for f in found]

    async def reset_requests(self, email: str, network: str, since: datetime) -> list[Failure]:
        """Reset requests since ``since`` for this email, or from this network."""
        found = await self._recent(
            ResetRequest, col(ResetRequest.requested_at), email, network, since
        )
        return [Failure(r.email, r.client, r.requested_at, r.network) for r in found]

    async def _recent(
        self,
        table: type[LoginFailure] | type[ResetRequest],
        at: Any,
        email: str,
        network: str,
        since: datetime,
    ) -> list[Any]:
        found = await self.session.exec(
            select(table).where(
                or_(col(table.email) == email, col(table.network) == network), at > since
            )
        )
        return list(found)

    async def record_login(self, attempt: LoginFailure) -> None:
        """Count the attempt as a failure until it is forgiven (given its id at commit)."""
        self.session.add(attempt)

    async def withdraw_login(self, attempt: LoginFailure) -> None:
        await self.session.exec(delete(LoginFailure).where(col(LoginFailure.id) == attempt.id))

    async def forgive_logins(self, email: str, client: str, device: str | None) -> None:
        """Forget the email's failures from this client, and from this trusted device."""
        forgiven = col(LoginFailure.client) == client
        if device:
            forgiven = or_(forgiven, col(LoginFailure.device) == device)
        await self.session.exec(
            delete(LoginFailure).where(col(LoginFailure.email) == email, forgiven)
        )

    async def forget_logins_of(self, email: str) -> None:
        await self.session.exec(delete(LoginFailure).where(col(LoginFailure.email) == email))

    async def forget_logins_before(self, cutoff: datetime) -> None:
        """Up to 100 failures (more than each attempt adds)."""
        await self._delete_some(
            col(LoginFailure.id), col(LoginFailure.failed_at) <= cutoff, batch=100
        )

    async def device_last_login(self, digest: str, user_id: int) -> datetime | None:
        known = await self.session.get(TrustedDevice, (digest, user_id))
        return known.last_login_at if known else None

    async def trust_device(
        self, digest: str, user_id: int, now: datetime, lifetime: timedelta, keep: int
    ) -> None:
        """Note (or renew) that this device logged in; forget the account's devices that have
        not logged in within ``lifetime``, and all but the newest ``keep``."""
        seen = insert(TrustedDevice).values(digest=digest, user_id=user_id, last_login_at=now)
        await self.session.exec(
            seen.on_conflict_do_update(
                index_elements=[col(TrustedDevice.digest), col(TrustedDevice.user_id)],
                set_={"last_login_at": now},
            )
        )
        kept = (
            select(TrustedDevice.digest)
            .where(TrustedDevice.user_id == user_id, TrustedDevice.last_login_at > now - lifetime)
            .order_by(col(TrustedDevice.last_login_at).desc())
            .limit(keep)
        )
        await self.session.exec(
            delete(TrustedDevice).where(
                col(TrustedDevice.user_id) == user_id, col(TrustedDevice.digest).not_in(kept)
            )
        )

    async def record_reset_request(self, request: ResetRequest) -> None:
        self.session.add(request)

    async def forget_reset_requests_before(self, cutoff: datetime, batch: int) -> int:
        return await self._delete_some(
            col(ResetRequest.id), col(ResetRequest.requested_at) <= cutoff, batch=batch
        )


class WebSessionRepository(_Repository):
    async def open(self, user_id: int) -> WebSession:
        """A new session (flushed: it gets its id)."""
        session = WebSession(user_id=user_id)
        self.session.add(session)
        await self.session.flush()
        return session

    async def add_token(self, token: RefreshToken) -> None:
        self.session.add(token)

    async def token(self, digest: str) -> RefreshToken | None:
        return await self.session.get(RefreshToken, digest)

    async def lock_by_token(
        self, digest: str
    ) -> tuple[RefreshToken, WebSession, UserAccount] | None:
        """The token, its session (locked FOR UPDATE: one refresh per session at a time) and
        its account; None for an unknown token, or one whose session or account went while
        this waited (an expired token swept, an account deleted).

        The token is read again after the lock is granted, in a statement of its own: under
        READ COMMITTED that one sees what the refresh it waited for committed."""
        session_id = (
            await self.session.exec(
                select(RefreshToken.session_id).where(RefreshToken.digest == digest)
            )
        ).first()
        if session_id is None:
            return None
        session = (
            await self.session.exec(
                select(WebSession).where(WebSession.id == session_id).with_for_update()
            )
        ).first()
        if session is None:
            return None
        token = await self.session.get(RefreshToken, digest)
        account = await self.session.get(UserAccount, session.user_id)
        if token is None or account is None:
            return None
        return token, session, account

    async def end_all_of(self, user_id: int, at: datetime) -> None:
        await self.session.exec(
            update(WebSession)
            .where(col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None))
            .values(ended_at=at)
        )

    async def forget_finished(self, now: datetime, batch: int) -> int:
        """Up to ``batch`` sessions that are over (ended, or with no unexpired token), and as
        many expired tokens of live ones; spent tokens stay until they expire (reuse
        detection needs them)."""
        live_token = select(RefreshToken.digest).where(
            RefreshToken.session_id == WebSession.id, RefreshToken.expires_at > now
        )
        over = or_(col(WebSession.ended_at).is_not(None), ~exists(live_token))
        sessions = await self._delete_some(col(WebSession.id), over, batch=batch)
        expired = col(RefreshToken.expires_at) <= now
        return sessions + await self._delete_some(col(RefreshToken.digest), expired, batch=batch)


class MailedTokenRepository(_Repository):
    async def add(self, token: MailedToken) -> None:
        self.session.add(token)

    async def lock(self, digest: str) -> MailedToken | None:
        found = await self.session.exec(
            select(MailedToken).where(MailedToken.digest == digest).with_for_update()
        )
        return found.first()

    async def made_since(self, user_id: int, purpose: str, since: datetime) -> list[MailedToken]:
        found = await self.session.exec(
            select(MailedToken).where(
                MailedToken.user_id == user_id,
                MailedToken.purpose == purpose,
                MailedToken.created_at > since,
            )
        )
        return list(found)

    async def void(self, user_id: int, purpose: str, at: datetime) -> None:
        """Every unused token of this purpose stops working."""
        await self.session.exec(
            update(MailedToken)
            .where(
                col(MailedToken.user_id) == user_id,
                col(MailedToken.purpose) == purpose,
                col(MailedToken.used_at).is_(None),
            )
            .values(used_at=at)
        )

    async def forget_expired_before(self, cutoff: datetime, batch: int) -> int:
        return await self._delete_some(
            col(MailedToken.digest), col(MailedToken.expires_at) <= cutoff, batch=batch
        )
