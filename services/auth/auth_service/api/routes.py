"""Auth endpoints: register, log in, log out."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from auth_service import service
from auth_service.api.dependencies import LiveSessions, LogIn, RegisterAccount, Settings, UoW
from auth_service.api.schemas import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse
from unimatch_shared.auth import CurrentUser
from unimatch_shared.openapi import THROTTLED

router = APIRouter()
# Names a device that logged in before; sent back only to the login endpoint.
DEVICE_COOKIE = "unimatch_device"


@router.post("/users/api/register", status_code=201, response_model=RegisterResponse)
async def register(body: RegisterRequest, register_account: RegisterAccount) -> dict:
    profile = body.model_dump(include={"first_name", "last_name", "age", "hobby"})
    reply, token = await register_account(body.email, body.password, profile)
    return {"user": reply.user, "token": token}


@router.post(
    "/auth/token/login", status_code=201, response_model=TokenResponse, responses=THROTTLED
)
async def log_in(
    body: LoginRequest, request: Request, response: Response, log_in: LogIn, settings: Settings
) -> dict:
    """Also sets the device cookie that lets this client past the throttling others cause
    (docs/adr/009-login-throttling.md); an addition to the contract's response."""
    lifetime = timedelta(days=settings.login_device_days)
    login = await log_in(
        body.email,
        body.password,
        device=request.cookies.get(DEVICE_COOKIE),
        device_lifetime=lifetime,
    )
    response.set_cookie(
        DEVICE_COOKIE,
        login.device,
        max_age=int(lifetime.total_seconds()),
        path="/auth/token/login",
        secure=settings.login_device_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return {"token": login.token}


@router.post("/auth/token/logout", status_code=204)
async def log_out(user: CurrentUser, uow: UoW, store: LiveSessions) -> Response:
    await service.log_out(uow, store, user.token)
    return Response(status_code=204)
