"""Who is calling: the ``Authorization: Token <key>`` header, checked on every request.

Every service looks the token's digest up in the shared session store on each request
(docs/adr/010-token-checks-in-a-shared-session-store.md), so a logout is seen everywhere at
once and no header a client can set is ever trusted as an identity.
"""

import re
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from unimatch_shared.errors import INVALID_TOKEN, NotAuthenticated, PermissionDenied
from unimatch_shared.sessions import Session

TOKEN_PATTERN = re.compile(r"[0-9a-f]{40}")
STAFF_SCOPE = "staff"


@dataclass(frozen=True)
class Principal:
    user_id: int
    is_staff: bool
    token: str


class TokenVerifier(Protocol):
    """``SessionStore`` in the services; tests may put a stand-in on ``app.state``."""

    async def verify(self, token: str) -> Session | None: ...


def token_from_header(value: str | None) -> str:
    """The key from the header, or raise a 401 (docs/api.md, Authentication)."""
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
    session = await verifier.verify(token)
    if session is None:
        raise NotAuthenticated(INVALID_TOKEN)
    return Principal(user_id=session.user_id, is_staff=session.is_staff, token=token)


async def staff_user(
    user: Annotated[Principal, Security(current_user, scopes=[STAFF_SCOPE])],
) -> Principal:
    if not user.is_staff:
        raise PermissionDenied()
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
StaffUser = Annotated[Principal, Depends(staff_user)]
