"""Refresh-token rules of web sessions (docs/adr/015-web-sessions.md). Pure: no I/O.

A web session is a family of refresh tokens: each refresh spends the presented token and
hands out its successor. The successor is not random but ``HMAC(secret, presented)``, so a
refresh that repeats one already answered (the front end sends several at once with the same
cookie) can be given the very same successor again without the server ever storing a token:
only digests are kept.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

TOKEN_PATTERN = re.compile(r"[0-9a-f]{64}")


class Outcome(Enum):
    ROTATE = "rotate"  # first use: spend it, hand out its successor
    REPLAY = "replay"  # used again within the grace: answer with the session's current token
    REVOKE = "revoke"  # used again after the grace: presumed stolen, end the whole session
    REFUSE = "refuse"  # unknown, expired, or its session has ended


@dataclass(frozen=True)
class TokenState:
    expires_at: datetime
    used_at: datetime | None
    session_ended: bool


def decide(state: TokenState | None, now: datetime, grace: timedelta) -> Outcome:
    if state is None or state.session_ended:
        return Outcome.REFUSE
    if state.used_at is not None and now - state.used_at > grace:
        return Outcome.REVOKE
    if now >= state.expires_at:
        return Outcome.REFUSE
    return Outcome.ROTATE if state.used_at is None else Outcome.REPLAY


def first_token() -> str:
    """A new session's first refresh token: 256 random bits, hex."""
    return secrets.token_hex(32)


def successor(secret: bytes, token: str) -> str:
    """The token that replaces ``token``; only the holder of ``secret`` can compute it, so
    an old token does not reveal its successor."""
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


def chain_secret(private_key_bytes: bytes) -> bytes:
    """The successor secret, derived from the signing key so there is nothing else to keep."""
    return hashlib.sha256(b"unimatch refresh successor\x00" + private_key_bytes).digest()
