import hashlib
from typing import ClassVar

from pydantic import Field, model_validator

from unimatch_shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    # One worker process per instance (ADR 006); of several instances, the Telegram lease picks
    # the one that polls and sends (docs/adr/new-several-instances.md).
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

    @property
    def webhook_secret(self) -> str:
        """What Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token``; derived if not given."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        token = (self.telegram_bot_token or "").encode()
        return hashlib.sha256(b"unimatch-webhook:" + token).hexdigest()
