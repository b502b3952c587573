"""Auth endpoints: register, log in, log out."""

from fastapi import APIRouter, Request, Response

from auth_service import service
from auth_service.api.schemas import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse
from auth_service.domain.throttle import client_address
from unimatch_shared.auth import CurrentUser
from unimatch_shared.openapi import THROTTLED

router = APIRouter()


@router.post("/users/api/register", status_code=201, response_model=RegisterResponse)
async def register(body: RegisterRequest, request: Request) -> dict:
    runtime = request.app.state.runtime
    profile = body.model_dump(include={"first_name", "last_name", "age", "hobby"})
    user, token = await service.register(
        runtime.unit_of_work(),
        runtime.messaging,
        runtime.live_sessions,
        request.app.state.passwords,
        runtime.reads,
        body.email,
        body.password,
        profile,
    )
    return {"user": user, "token": token}


@router.post(
    "/auth/token/login", status_code=201, response_model=TokenResponse, responses=THROTTLED
)
async def log_in(body: LoginRequest, request: Request) -> dict:
    runtime = request.app.state.runtime
    client = client_address(
        request.client.host if request.client else "",
        request.headers.get("x-real-ip"),
        runtime.settings.trusted_networks,
    )
    token = await service.log_in(
        runtime.unit_of_work(),
        runtime.live_sessions,
        request.app.state.passwords,
        body.email,
        body.password,
        client,
    )
    return {"token": token}


@router.post("/auth/token/logout", status_code=204)
async def log_out(user: CurrentUser, request: Request) -> Response:
    runtime = request.app.state.runtime
    await service.log_out(runtime.unit_of_work(), runtime.live_sessions, user.token)
    return Response(status_code=204)
