"""Bodies of the Telegram linking endpoints (CONTRACT.md 2.4 and section 3)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TelegramLogin(BaseModel):
    """What the Login Widget hands its ``onauth`` callback, optionally with ``email``.

    Unknown fields are kept: Telegram signs every field it sends, new ones included.
    """

    model_config = ConfigDict(extra="allow")

    id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    photo_url: str | None = None
    auth_date: int
    hash: str | None = None
    email: str | None = None


class DeepLinkOut(BaseModel):
    url: str
    expires_at: datetime
