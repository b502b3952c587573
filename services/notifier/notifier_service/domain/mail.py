"""Mail rules that need no server: header-safe text, what an SMTP reply means, and the signed
token of the one-click unsubscribe link (docs/adr/021-email-delivery.md)."""

import base64
import hashlib
import hmac
import re
from enum import Enum

# Line breaks and every other control character: in a header they would end it and start
# another (header injection), so text bound for a header never keeps one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SIGNATURE_CHARS = 22  # 132 bits of the HMAC, base64url


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # the server refused this mail for now (4xx): try it again later
    FAILED = "failed"  # refused for good (5xx): record it, never retry
    UNREACHABLE = "unreachable"  # the server, not the mail: keep it pending, back off


def one_line(text: str) -> str:
    """``text`` fit for a header: control characters (CR, LF ...) become single spaces."""
    return _CONTROL.sub(" ", text).strip()


def reply_outcome(code: int) -> Outcome:
    """What an SMTP reply refusing a mail means for it. 421 is the server closing the
    connection (overloaded, shutting down): nothing about the mail."""
    if code == 421:
        return Outcome.UNREACHABLE
    if 400 <= code < 500:
        return Outcome.RETRY
    if 500 <= code < 600:
        return Outcome.FAILED
    return Outcome.UNREACHABLE  # not a refusal SMTP defines: blame the connection


def _signature(key: bytes, user_id: int) -> str:
    digest = hmac.new(key, f"unsubscribe:{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_SIGNATURE_CHARS]


def unsubscribe_token(key: bytes, user_id: int) -> str:
    """``<user id>.<signature>``: names the user, and only the key's holder can make one."""
    return f"{user_id}.{_signature(key, user_id)}"


def unsubscribing_user(key: bytes, token: str) -> int | None:
    """The user a genuine token names; None for anything else."""
    user, _, signature = token.partition(".")
    if not user.isascii() or not user.isdigit() or len(user) > 19:
        return None
    user_id = int(user)
    if not hmac.compare_digest(signature.encode(), _signature(key, user_id).encode()):
        return None
    return user_id
