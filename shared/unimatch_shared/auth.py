"""Who is calling: the ``Authorization: Token <key>`` header, checked on every request.

Only the auth service knows tokens; every other service asks it over NATS on each request
(docs/adr/002-authentication-across-services.md), so a logout is seen everywhere at once and
no header a client can set is ever trusted as an identity.
"""

import re
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from unimatch_shared.errors import INVALID_TOKEN, NotAuthenticated, PermissionDenied
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import VerifiedToken, VerifyToken

TOKEN_PATTERN = re.compile(r"[0-9a-f]{40}")
STAFF_SCOPE = "staff"


@dataclass(frozen=True)
class Principal:
    user_id: int
    is_staff: bool
    token: str


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> VerifiedToken: ...


class NatsTokenVerifier:
    """Asks the auth service; its silence is a 503, never a pass."""

    def __init__(self, messaging: Messaging):
        self._messaging = messaging

    async def verify(self, token: str) -> VerifiedToken:
        return await self._messaging.request(VerifyToken(token=token), VerifiedToken)


def token_from_header(value: str | None) -> str:
    """The key from the header, or raise the contract's 401."""
    keyword, _, key = (value or "").strip().partition(" ")
    if keyword.lower() != "token":
        raise NotAuthenticated()
    key = key.strip()
    if not TOKEN_PATTERN.fullmatch(key):
        raise NotAuthenticated(INVALID_TOKEN)
    return key


# Declares the scheme in the OpenAPI documents (and Swagger UI's "Authorize"); the staff
# scope marks staff-only operations there (openapi.py documents their 401 and 403).
TOKEN_SCHEME = APIKeyHeader(
    name="Authorization", scheme_name="Token", description="`Token <key>`", auto_error=False
)


async def current_user(
    request: Request, authorization: Annotated[str | None, Security(TOKEN_SCHEME)]
) -> Principal:
    token = token_from_header(authorization)
    verifier: TokenVerifier = request.app.state.token_verifier
    verified = await verifier.verify(token)
    if verified.user_id is None:
        raise NotAuthenticated(INVALID_TOKEN)
    return Principal(user_id=verified.user_id, is_staff=verified.is_staff, token=token)


async def staff_user(
    user: Annotated[Principal, Security(current_user, scopes=[STAFF_SCOPE])],
) -> Principal:
    if not user.is_staff:
        raise PermissionDenied()
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
StaffUser = Annotated[Principal, Depends(staff_user)]
