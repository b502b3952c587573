"""Bodies of the Telegram linking endpoints (docs/api.md, Telegram)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from unimatch_shared.fields import Text


class TelegramLogin(BaseModel):
    """What the Login Widget hands its ``onauth`` callback, optionally with ``email``.

    Unknown fields are kept: Telegram signs every field it sends, new ones included.
    """

    model_config = ConfigDict(extra="allow")

    id: int
    first_name: Text | None = None
    last_name: Text | None = None
    username: Text | None = None
    photo_url: Text | None = None
    auth_date: int
    hash: Text | None = None
    email: Text | None = None


class DeepLinkOut(BaseModel):
    url: str
    expires_at: datetime
