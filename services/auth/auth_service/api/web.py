"""Auth's web-surface endpoints (docs/api.md, Web surface): sign-up, login (also with the
Telegram widget), refresh, logout.

Each answers a short-lived access token in the body and keeps the session's refresh token in
the ``refresh_token`` cookie, sent back only to the refresh and logout paths
(docs/adr/015-web-sessions.md).
"""

from fastapi import APIRouter, Body, Request, Response

from auth_service import service
from auth_service.api.dependencies import LogIn, RegisterAccount, Requests, Sessions, UoW
from auth_service.api.web_schemas import (
    AccessResponse,
    RefreshRequest,
    WebLoginRequest,
    WebRegisterRequest,
    WebRegisterResponse,
)
from auth_service.web_sessions import WebSessions, WebTokens
from unimatch_shared.openapi import WebErrorBody
from unimatch_shared.schemas import TelegramLogin
from unimatch_shared.web import WebError, WebNotAuthenticated

router = APIRouter(prefix="/api", tags=["web"])
REFRESH_COOKIE = "refresh_token"
# Both endpoints that read it (and the login beside them) are under this path.
COOKIE_PATH = "/api/token"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

NO_REFRESH = "Не передан refresh-токен"

WEB_ERRORS = {
    400: {"model": WebErrorBody, "description": "Invalid input, or bad credentials"},
    401: {"model": WebErrorBody, "description": "No, invalid, expired or revoked refresh token"},
}
NOT_CONFIGURED = {503: {"model": WebErrorBody, "description": "No Telegram bot configured"}}
THROTTLED = {429: {"model": WebErrorBody, "description": "Too many attempts (`Retry-After`)"}}


def _secure_cookie(request: Request) -> bool:
    """Secure, unless the site is plain-HTTP localhost (a browser would drop it there)."""
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return not (scheme == "http" and request.url.hostname in LOCAL_HOSTS)


def _answer(sessions: WebSessions, request: Request, response: Response, tokens: WebTokens) -> dict:
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh,
        max_age=int(sessions.refresh_lifetime.total_seconds()),
        path=COOKIE_PATH,
        secure=_secure_cookie(request),
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return {"access": tokens.access}


@router.post("/token", response_model=AccessResponse, responses={**WEB_ERRORS, **THROTTLED})
async def obtain_token(
    body: WebLoginRequest,
    request: Request,
    response: Response,
    log_in: LogIn,
    sessions: Sessions,
) -> dict:
    """Log in: an access token, and the session's refresh token in the cookie. Throttled
    like the seed login (docs/adr/009)."""
    login = await log_in(body.email, body.password, open_session=sessions.open)
    tokens = WebTokens(sessions.access(login.user_id, login.is_staff), login.token)
    return _answer(sessions, request, response, tokens)


@router.post("/register", status_code=201, response_model=WebRegisterResponse, responses=WEB_ERRORS)
async def register(
    body: WebRegisterRequest,
    register_account: RegisterAccount,
    sessions: Sessions,
    request: Request,
    response: Response,
) -> dict:
    profile = body.model_dump(include={"first_name", "last_name", "birth", "hobby", "tg_link"})
    reply, refresh = await register_account(
        body.email, body.password, profile, open_session=sessions.open
    )
    user = reply.web_user
    tokens = WebTokens(sessions.access(user["id"], False), refresh)
    return {"user": user, **_answer(sessions, request, response, tokens)}


@router.post("/tg-auth", response_model=AccessResponse, responses={**WEB_ERRORS, **NOT_CONFIGURED})
async def telegram_login(
    body: TelegramLogin,
    request: Request,
    response: Response,
    uow: UoW,
    messaging: Requests,
    sessions: Sessions,
) -> dict:
    """Log in with the Telegram Login Widget's payload: the user linked to that Telegram
    account, or a new account without a password; answers like ``/api/token``."""
    account, refresh_token = await service.log_in_with_telegram(uow, messaging, body, sessions.open)
    tokens = WebTokens(sessions.access(account.id, account.is_staff), refresh_token)
    return _answer(sessions, request, response, tokens)


@router.post("/token/refresh", response_model=AccessResponse, responses=WEB_ERRORS)
async def refresh(request: Request, response: Response, uow: UoW, sessions: Sessions) -> dict:
    """Rotate the cookie's refresh token (no body). Repeats within the grace get the same
    new cookie; a spent token used later ends its session (docs/adr/015)."""
    presented = request.cookies.get(REFRESH_COOKIE)
    if not presented:
        raise WebNotAuthenticated()
    tokens = await sessions.refresh(uow, presented)
    return _answer(sessions, request, response, tokens)


@router.post("/token/blacklist", responses=WEB_ERRORS)
async def log_out(
    request: Request,
    response: Response,
    uow: UoW,
    sessions: Sessions,
    body: RefreshRequest | None = Body(default=None),
) -> dict:
    """End the session of the refresh token in the body (``{"refresh"}``) or the cookie."""
    presented = (body.refresh if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not presented:
        raise WebError(400, NO_REFRESH)
    await sessions.end(uow, presented)
    response.delete_cookie(
        REFRESH_COOKIE, path=COOKIE_PATH, secure=_secure_cookie(request), httponly=True
    )
    return {}
