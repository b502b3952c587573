"""Auth endpoints: register, log in, log out."""

from fastapi import APIRouter, Request, Response

from auth_service import service
from auth_service.api.schemas import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse
from unimatch_shared.auth import CurrentUser

router = APIRouter()


@router.post("/users/api/register", status_code=201, response_model=RegisterResponse)
async def register(body: RegisterRequest, request: Request) -> dict:
    runtime = request.app.state.runtime
    profile = body.model_dump(include={"first_name", "last_name", "age", "hobby"})
    user, token = await service.register(
        runtime.unit_of_work(), runtime.messaging, body.email, body.password, profile
    )
    return {"user": user, "token": token}


@router.post("/auth/token/login", status_code=201, response_model=TokenResponse)
async def log_in(body: LoginRequest, request: Request) -> dict:
    uow = request.app.state.runtime.unit_of_work()
    return {"token": await service.log_in(uow, body.email, body.password)}


@router.post("/auth/token/logout", status_code=204)
async def log_out(user: CurrentUser, request: Request) -> Response:
    await service.log_out(request.app.state.runtime.unit_of_work(), user.token)
    return Response(status_code=204)
