"""Bodies of the Telegram linking endpoints (docs/api.md, Telegram)."""

from datetime import datetime

from pydantic import BaseModel


class DeepLinkOut(BaseModel):
    url: str
    expires_at: datetime


class UnsubscribedOut(BaseModel):
    unsubscribed: bool
