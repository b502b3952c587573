"""Password reset and email-change confirmation, on both surfaces (docs/api.md, "Password
reset" and Web surface): what the links auth has mailed lead to
(docs/adr/new-password-reset.md).

Each answers ``204`` with no body on success. A reset request answers the same whether or
not the email is an account's.
"""

from fastapi import APIRouter, Request, Response

from auth_service import mailed_links
from auth_service.api.dependencies import caller_address
from auth_service.api.schemas import EmailChangeConfirm, PasswordResetConfirm, PasswordResetRequest
from auth_service.api.web_schemas import (
    WebEmailChangeConfirm,
    WebPasswordResetConfirm,
    WebPasswordResetRequest,
)
from unimatch_shared.errors import ValidationFailed
from unimatch_shared.openapi import THROTTLED, WebErrorBody
from unimatch_shared.web import WebError

router = APIRouter(prefix="/users/api")
web_router = APIRouter(prefix="/api/auth/users", tags=["web"])

INVALID_RESET_LINK = "Ссылка для сброса пароля недействительна или устарела"
INVALID_EMAIL_LINK = "Ссылка подтверждения email недействительна или устарела"
EMAIL_TAKEN = "Пользователь с таким email уже существует"
WEB_INVALID = {400: {"model": WebErrorBody, "description": "Invalid input, or invalid link"}}
WEB_THROTTLED = {429: {"model": WebErrorBody, "description": "Too many requests (`Retry-After`)"}}


async def _request_reset(request: Request, email: str) -> Response:
    runtime = request.app.state.runtime
    await mailed_links.request_password_reset(
        runtime.unit_of_work(),
        email,
        caller_address(request),
        runtime.settings.password_reset_token_lifetime,
    )
    return Response(status_code=204)


async def _reset(request: Request, uid: str, token: str, new_password: str) -> Response:
    runtime = request.app.state.runtime
    await mailed_links.reset_password(
        runtime.unit_of_work(),
        runtime.live_sessions,
        request.app.state.passwords,
        runtime.reads,
        uid,
        token,
        new_password,
    )
    return Response(status_code=204)


async def _confirm_email(request: Request, token: str) -> Response:
    await mailed_links.confirm_email_change(request.app.state.runtime.unit_of_work(), token)
    return Response(status_code=204)


@router.post("/password-reset", status_code=204, responses=THROTTLED)
async def request_password_reset(body: PasswordResetRequest, request: Request) -> Response:
    """Mail a reset link to the address, if it is an account's. The same ``204`` either way;
    throttled per address and per client."""
    return await _request_reset(request, body.email)


@router.post("/password-reset/confirm", status_code=204)
async def reset_password(body: PasswordResetConfirm, request: Request) -> Response:
    """Set a new password with the link's ``uid`` and ``token``; every session of the
    account ends."""
    return await _reset(request, body.uid, body.token, body.new_password)


@router.post("/email-change/confirm", status_code=204)
async def confirm_email_change(body: EmailChangeConfirm, request: Request) -> Response:
    """Make the address the confirmation link was mailed to the account's email."""
    return await _confirm_email(request, body.token)


@web_router.post("/reset_password", status_code=204, responses={**WEB_INVALID, **WEB_THROTTLED})
async def web_request_password_reset(body: WebPasswordResetRequest, request: Request) -> Response:
    return await _request_reset(request, body.email)


@web_router.post("/reset_password_confirm", status_code=204, responses=WEB_INVALID)
async def web_reset_password(body: WebPasswordResetConfirm, request: Request) -> Response:
    try:
        return await _reset(request, body.uid, body.token, body.new_password)
    except ValidationFailed:
        raise WebError(400, INVALID_RESET_LINK) from None


@web_router.post("/email_change_confirm", status_code=204, responses=WEB_INVALID)
async def web_confirm_email_change(body: WebEmailChangeConfirm, request: Request) -> Response:
    try:
        return await _confirm_email(request, body.token)
    except ValidationFailed as exc:
        message = EMAIL_TAKEN if "email" in exc.body else INVALID_EMAIL_LINK
        raise WebError(400, message) from None
