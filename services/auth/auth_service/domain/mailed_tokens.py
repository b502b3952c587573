"""Single-use tokens auth mails to an account's owner: a password reset, and the confirmation
of a new email address (docs/adr/016-password-reset.md). Pure: no I/O, no clock.

A token is 256 random bits, URL-safe; auth keeps only its SHA-256 (like session tokens), so
a copy of the database opens nothing. It works once, until it expires, and only for what it
was made for (its ``purpose``).
"""

import base64
import binascii
import re
import secrets
from datetime import datetime

PASSWORD_RESET = "password_reset"
EMAIL_CHANGE = "email_change"

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_mailed_token() makes
# A user id in a uid: decimal digits, as many as a BIGINT can have.
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")


def new_mailed_token() -> str:
    return secrets.token_urlsafe(32)


def encode_uid(user_id: int) -> str:
    """The reset link's ``uid``, as Djoser makes it: the id's decimal digits in URL-safe
    base64 without padding (``MTI`` for 12). It names the account, and is no secret."""
    return base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")


def decode_uid(uid: str) -> int | None:
    """The user id a ``uid`` names, or None if it names none."""
    if not 1 <= len(uid) <= 28:
        return None
    try:
        digits = base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not _USER_ID.fullmatch(digits) or encode_uid(int(digits)) != uid:
        return None
    user_id = int(digits)
    return user_id if user_id < 2**63 else None


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one auth made (others are refused without a lookup)."""
    return TOKEN_PATTERN.fullmatch(token) is not None


def usable(expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    """A token works once, before it expires."""
    return used_at is None and now < expires_at
