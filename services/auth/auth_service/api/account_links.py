"""Password reset and email-change confirmation, on both surfaces (docs/api.md, "Password
reset" and Web surface): what the links auth has mailed lead to
(docs/adr/016-password-reset.md).

Each answers ``204`` with no body on success, but for the web app's two reset calls: that app
reads a JSON body from every success and takes an empty one for a failure, so they answer
``200 {}``. A reset request answers the same whether or not the email is an account's.
"""

from fastapi import APIRouter, Response

from auth_service import mailed_links
from auth_service.api.dependencies import (
    ClientAddress,
    LiveSessions,
    Passwords,
    ReadChecks,
    Settings,
    UoW,
)
from auth_service.api.schemas import EmailChangeConfirm, PasswordResetConfirm, PasswordResetRequest
from auth_service.api.web_schemas import (
    WebEmailChangeConfirm,
    WebPasswordResetConfirm,
    WebPasswordResetRequest,
)
from unimatch_shared.openapi import THROTTLED, WebErrorBody

router = APIRouter(prefix="/users/api")
web_router = APIRouter(prefix="/api/auth/users", tags=["web"])

WEB_INVALID = {400: {"model": WebErrorBody, "description": "Invalid input, or invalid link"}}
WEB_THROTTLED = {429: {"model": WebErrorBody, "description": "Too many requests (`Retry-After`)"}}


async def _request_reset(uow: UoW, settings: Settings, client: ClientAddress, email: str) -> None:
    lifetime = settings.password_reset_token_lifetime
    await mailed_links.request_password_reset(uow, email, client, lifetime)


async def _reset(
    uow: UoW,
    store: LiveSessions,
    passwords: Passwords,
    lookups: ReadChecks,
    uid: str,
    token: str,
    new_password: str,
) -> None:
    await mailed_links.reset_password(uow, store, passwords, lookups, uid, token, new_password)


@router.post("/password-reset", status_code=204, responses=THROTTLED)
async def request_password_reset(
    body: PasswordResetRequest, uow: UoW, settings: Settings, client: ClientAddress
) -> Response:
    """Mail a reset link to the address, if it is an account's. The same ``204`` either way;
    throttled per address and per client."""
    await _request_reset(uow, settings, client, body.email)
    return Response(status_code=204)


@router.post("/password-reset/confirm", status_code=204)
async def reset_password(
    body: PasswordResetConfirm,
    uow: UoW,
    store: LiveSessions,
    passwords: Passwords,
    lookups: ReadChecks,
) -> Response:
    """Set a new password with the link's ``uid`` and ``token``; every session of the
    account ends."""
    await _reset(uow, store, passwords, lookups, body.uid, body.token, body.new_password)
    return Response(status_code=204)


@router.post("/email-change/confirm", status_code=204)
async def confirm_email_change(body: EmailChangeConfirm, uow: UoW) -> Response:
    """Make the address the confirmation link was mailed to the account's email."""
    await mailed_links.confirm_email_change(uow, body.token)
    return Response(status_code=204)


@web_router.post("/reset_password", responses={**WEB_INVALID, **WEB_THROTTLED})
async def web_request_password_reset(
    body: WebPasswordResetRequest, uow: UoW, settings: Settings, client: ClientAddress
) -> dict:
    await _request_reset(uow, settings, client, body.email)
    return {}


@web_router.post("/reset_password_confirm", responses=WEB_INVALID)
async def web_reset_password(
    body: WebPasswordResetConfirm,
    uow: UoW,
    store: LiveSessions,
    passwords: Passwords,
    lookups: ReadChecks,
) -> dict:
    await _reset(uow, store, passwords, lookups, body.uid, body.token, body.new_password)
    return {}


@web_router.post("/email_change_confirm", status_code=204, responses=WEB_INVALID)
async def web_confirm_email_change(body: WebEmailChangeConfirm, uow: UoW) -> Response:
    await mailed_links.confirm_email_change(uow, body.token)
    return Response(status_code=204)
