"""The auth schema: accounts, their session tokens (digests only), failed logins, trusted
devices, web sessions, mailed tokens (digests only) and the requests for them."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity
from sqlmodel import Field, SQLModel

from unimatch_shared.columns import owned_by, utc_now


def _references(table: str, primary_key: bool = False) -> Any:
    """A column holding the id of a row of ``table``: indexed, never null, and deleted with
    that row."""
    return owned_by(f"{table}.id", primary_key=primary_key, index=True, nullable=False)


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str = Field(unique=True, max_length=254)
    password_hash: str
    is_staff: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    # Set for an account made by joining in the bot: the Telegram user it belongs to.
    telegram_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True, unique=True, name="telegram_id"),
    )


class AuthToken(SQLModel, table=True):
    """One login session. ``digest`` is the SHA-256 of the token the client holds;
    ``last_seen_at`` is when it was opened or last renewed (docs/adr/010)."""

    __tablename__ = "auth_token"

    digest: str = Field(primary_key=True, max_length=64)
    user_id: int = _references("user_account")
    created_at: datetime = Field(default_factory=utc_now)
    last_seen_at: datetime = Field(default_factory=utc_now, index=True)


class LoginFailure(SQLModel, table=True):
    """A failed login, kept while the throttling policy may count it (domain/throttle.py).

    ``client`` is the pair scope's key (an IPv4 address, an IPv6 /64), ``network`` the
    per-network cap's (an IPv4 address, an IPv6 /48)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str = Field(max_length=254, index=True)
    client: str = Field(max_length=64, index=True)
    network: str = Field(default="", max_length=64, index=True)
    device: str | None = Field(default=None, max_length=64, index=True)
    failed_at: datetime = Field(default_factory=utc_now, index=True)


class TrustedDevice(SQLModel, table=True):
    """A device (browser, app) that logged in to the account: it presents the cookie whose
    SHA-256 is ``digest`` and is throttled by its own failures (domain/throttle.py)."""

    __tablename__ = "trusted_device"

    digest: str = Field(primary_key=True, max_length=64)
    # Indexed: the primary key starts with digest; the index serves the user's devices.
    user_id: int = _references("user_account", primary_key=True)
    last_login_at: datetime = Field(default_factory=utc_now)


class WebSession(SQLModel, table=True):
    """A session of the web surface: a family of refresh tokens (docs/adr/015). Ended by a
    logout, by a spent token used again after the grace, or by a password change."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = _references("user_account")
    created_at: datetime = Field(default_factory=utc_now)
    ended_at: datetime | None = None


class RefreshToken(SQLModel, table=True):
    """One refresh token of a web session, by the SHA-256 of its value; ``used_at`` is when
    it was spent (rotated)."""

    __tablename__ = "refresh_token"

    digest: str = Field(primary_key=True, max_length=64)
    session_id: int = _references("web_session")
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class MailedToken(SQLModel, table=True):
    """A single-use token mailed to the account's owner (domain/mailed_tokens.py): a password
    reset, or the confirmation of ``new_email``. Only its SHA-256 is kept; ``used_at`` is when
    it was used, or voided (a newer one, a password change)."""

    __tablename__ = "mailed_token"

    digest: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=32)
    user_id: int = _references("user_account")
    new_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class ResetRequest(SQLModel, table=True):
    """A password-reset request, kept while the throttling policy may count it
    (``request_retry_after`` in domain/throttle.py); keyed like ``LoginFailure``."""

    __tablename__ = "reset_request"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str = Field(max_length=254, index=True)
    client: str = Field(max_length=64)
    network: str = Field(max_length=64, index=True)
    requested_at: datetime = Field(default_factory=utc_now, index=True)
