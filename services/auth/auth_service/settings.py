from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from auth_service.domain.credentials import InvalidCredential, check_password, normalize_email
from unimatch_shared.settings import ServiceSettings, default_workers


def _comma_separated(value: Any) -> Any:
    """``TRUSTED_PROXIES`` is a comma-separated list (README), not the JSON pydantic-settings
    reads a list from."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


class _Duration:
    """A setting given as a number of ``unit`` (``"minutes"``), read as a timedelta."""

    def __init__(self, field: str, unit: str):
        self._field = field
        self._unit = unit

    def __get__(self, settings: object, owner: type | None = None) -> timedelta:
        return timedelta(**{self._unit: getattr(settings, self._field)})


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(ignored_types=(_Duration,))
    port: int = 8101
    unimatch_admin_email: str | None = None
    unimatch_admin_password: str | None = None
    # Peers whose X-Real-IP header names the client (the gateway): TRUSTED_PROXIES,
    # comma-separated networks. Loopback, where `make run` puts the gateway; compose names
    # its private network.
    trusted_networks: Annotated[
        list[IPvAnyNetwork], NoDecode, BeforeValidator(_comma_separated)
    ] = Field(
        default="127.0.0.0/8,::1/128", validate_default=True, validation_alias="trusted_proxies"
    )
    # Password hashing (adapters/hashing.py): threads per worker process (default: the CPUs
    # shared out among the workers), how long a login may take to get a thread and hash
    # before it is answered 503, and how much lower than the rest of the process their CPU
    # priority is (nice, 0-19).
    password_hash_threads: int | None = Field(default=None, ge=1)
    password_hash_budget_seconds: float = Field(default=1.0, gt=0)
    password_hash_niceness: int = Field(default=10, ge=0, le=19)
    # Sign-ups and logins yield the CPU to reads under contention (docs/adr/012).
    cpu_niceness: int = Field(default=5, ge=0, le=19)
    # The device cookie a successful login sets (docs/adr/009): how long a device stays
    # trusted after its last login, and whether the cookie is sent over HTTPS only (browsers
    # also send Secure cookies to http://localhost).
    login_device_days: int = Field(default=180, ge=1)
    login_device_cookie_secure: bool = True
    # Web sessions (docs/adr/015-web-sessions.md). The Ed25519 key access tokens are signed
    # with: given as PEM (UNIMATCH_JWT_PRIVATE_KEY) or as a file, else made on first start
    # and kept under the var dir. Replacing it logs nobody out: the previous public key stays
    # valid for one access-token lifetime.
    unimatch_var_dir: Path = Path("var")
    unimatch_jwt_private_key: SecretStr | None = None
    unimatch_jwt_private_key_file: Path | None = None
    unimatch_access_token_minutes: float = Field(default=5, gt=0)
    unimatch_refresh_token_days: float = Field(default=7, gt=0)
    # A refresh token presented again this soon after its rotation gets the same answer
    # (the front end refreshes several requests at once); later, it revokes its session.
    unimatch_refresh_reuse_grace_seconds: float = Field(default=10, ge=0)
    # Mailed links (docs/adr/016-password-reset.md): how long a password-reset link and an
    # email-change confirmation link work.
    unimatch_password_reset_token_minutes: float = Field(default=60, gt=0)
    unimatch_email_change_token_minutes: float = Field(default=24 * 60, gt=0)

    @field_validator("unimatch_admin_email")
    @classmethod
    def _admin_email_valid(cls, email: str | None) -> str | None:
        if email is None:
            return None
        try:
            return normalize_email(email)
        except InvalidCredential as exc:
            raise ValueError(f"UNIMATCH_ADMIN_EMAIL is not an email address: {exc}") from None

    @field_validator("unimatch_admin_password")
    @classmethod
    def _admin_password_meets_the_policy(cls, password: str | None) -> str | None:
        """The staff account's password obeys the rules a sign-up's does; the service refuses
        to start otherwise (the value itself is never shown: errors hide their input)."""
        if password is None:
            return None
        try:
            return check_password(password)
        except InvalidCredential as exc:
            raise ValueError(
                f"UNIMATCH_ADMIN_PASSWORD does not meet the password policy: {exc}"
            ) from None

    @property
    def signing_key_path(self) -> Path:
        default = self.unimatch_var_dir / "jwt" / "signing-key.pem"
        return self.unimatch_jwt_private_key_file or default

    access_token_lifetime = _Duration("unimatch_access_token_minutes", "minutes")
    refresh_token_lifetime = _Duration("unimatch_refresh_token_days", "days")
    refresh_reuse_grace = _Duration("unimatch_refresh_reuse_grace_seconds", "seconds")
    password_reset_token_lifetime = _Duration("unimatch_password_reset_token_minutes", "minutes")
    email_change_token_lifetime = _Duration("unimatch_email_change_token_minutes", "minutes")

    @property
    def hashing_threads(self) -> int:
        if self.password_hash_threads:
            return self.password_hash_threads
        return max(1, default_workers() // self.workers)
