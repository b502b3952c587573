import hashlib
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, UrlConstraints, field_validator, model_validator
from pydantic_core import Url

from unimatch_shared.settings import ServiceSettings

SmtpUrl = Annotated[Url, UrlConstraints(allowed_schemes=["smtp", "smtps"], host_required=True)]


def _no_trailing_slash(url: str) -> str:
    return url.rstrip("/")


class NotifierSettings(ServiceSettings):
    # One worker process per instance (ADR 006); of several instances, the Telegram lease picks
    # the one that polls and sends (docs/adr/024-several-instances.md).
    MAX_WORKERS: ClassVar[int | None] = 1
    port: int = 8104
    # Unset: messages are recorded and logged, never sent (docs/api.md, Configuration).
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str | None = None
    # Set: Telegram pushes updates to this URL (the gateway's /telegram/webhook); else polling.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_polling_timeout: int = 10
    # Telegram's limits, padded by a margin so network jitter never provokes a 429.
    telegram_messages_per_second: int = 30
    # The share of those kept for replies to bot commands; announcements get the rest, so a
    # burst of commands never holds up a round's announcements, nor the reverse (ADR 006).
    telegram_replies_per_second: int = Field(default=5, ge=1)
    telegram_chat_interval_seconds: float = 1.0
    telegram_rate_margin_seconds: float = 0.03
    telegram_send_concurrency: int = 8
    link_code_ttl_seconds: int = 15 * 60
    # Mail (docs/adr/021-email-delivery.md). Unset: mails are recorded and logged, never sent
    # (`make run` sets it to its local mailbox). smtp:// (STARTTLS when the server offers it)
    # or smtps://, with the user and password in the URL.
    smtp_url: SmtpUrl | None = None
    mail_from: str = "UniMatch <noreply@unimatch.local>"
    # Where the links in mails point: the gateway as users reach it.
    unimatch_public_url: Annotated[str, AfterValidator(_no_trailing_slash)] = (
        "http://localhost:8000"
    )
    mail_messages_per_second: int = Field(default=10, ge=1)
    # A mail a server refuses for now (4xx) is tried again after 2 s, 4 s, ... up to this, and
    # given up (recorded as failed) after this many attempts.
    mail_retry_max_delay_seconds: float = Field(default=900.0, gt=0)
    mail_max_attempts: int = Field(default=30, ge=1)
    mail_timeout_seconds: float = Field(default=30.0, gt=0)
    # "Did you meet?" goes to each member of a group this long after the round.
    follow_up_delay_seconds: int = Field(default=3 * 24 * 3600, ge=0)
    # How often due follow-ups are looked for.
    follow_up_poll_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _announcements_keep_a_share(self) -> "NotifierSettings":
        if self.telegram_replies_per_second >= self.telegram_messages_per_second:
            raise ValueError(
                "TELEGRAM_REPLIES_PER_SECOND must be below TELEGRAM_MESSAGES_PER_SECOND"
                " (announcements get the rest)"
            )
        return self

    @field_validator("mail_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        """``Name <address>`` or a bare address, on one line: it becomes the From header."""
        name, address = parseaddr(value)
        if "\r" in value or "\n" in value or "@" not in address:
            raise ValueError("MAIL_FROM must be an address, optionally with a name")
        return str(Address(display_name=name, addr_spec=address))

    @property
    def mail_from_address(self) -> str:
        """MAIL_FROM's bare address: the envelope sender."""
        return parseaddr(self.mail_from)[1]

    @property
    def webhook_secret(self) -> str:
        """What Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token``; derived if not given."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        token = (self.telegram_bot_token or "").encode()
        return hashlib.sha256(b"unimatch-webhook:" + token).hexdigest()
