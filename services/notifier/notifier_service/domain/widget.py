"""Telegram Login Widget data, checked as https://core.telegram.org/widgets/login says."""

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

MAX_AGE = timedelta(hours=24)
# Fields our clients may add beside Telegram's own; they are not signed.
NOT_SIGNED = {"hash", "email"}


def data_check_string(fields: dict[str, Any]) -> str:
    """Every signed field Telegram sent, as sorted ``key=value`` lines."""
    signed = {k: v for k, v in fields.items() if k not in NOT_SIGNED and v is not None}
    return "\n".join(f"{key}={signed[key]}" for key in sorted(signed))


def sign(fields: dict[str, Any], bot_token: str) -> str:
    """The hash Telegram computes: HMAC-SHA-256 keyed by SHA-256 of the bot token."""
    secret = hashlib.sha256(bot_token.encode()).digest()
    # surrogatepass: unknown fields may hold anything JSON can; it must not crash the check.
    message = data_check_string(fields).encode(errors="surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def is_valid_login(fields: dict[str, Any], bot_token: str, now: datetime) -> bool:
    """True if Telegram signed exactly these fields for this bot within the last 24 hours."""
    received = fields.get("hash")
    auth_date = fields.get("auth_date")
    if not isinstance(received, str) or not received.isascii() or not isinstance(auth_date, int):
        return False
    if not hmac.compare_digest(sign(fields, bot_token), received.lower()):
        return False
    age = now.timestamp() - auth_date
    return -60 <= age <= MAX_AGE.total_seconds()
