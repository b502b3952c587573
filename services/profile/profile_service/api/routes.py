"""Profile endpoints: the hobby catalog, one's tags, profile, pause state and matches."""

from fastapi import APIRouter, Body, Request

from profile_service import service
from profile_service.api.schemas import HobbyOut, MatchOut, MeOut, MeUpdate, PauseRequest
from unimatch_shared.auth import CurrentUser

router = APIRouter(prefix="/users/api")


def _uow(request: Request):
    return request.app.state.runtime.unit_of_work()


@router.get("/hobby/all", response_model=list[HobbyOut])
async def all_hobbies(request: Request) -> list[dict]:
    return await service.list_hobbies(_uow(request))


@router.get("/tags", response_model=list[str])
async def my_tags(user: CurrentUser, request: Request) -> list[str]:
    return await service.user_tags(_uow(request), user.user_id)


@router.get("/pairs", response_model=list[MatchOut])
async def my_matches(user: CurrentUser, request: Request) -> list[dict]:
    return await service.match_history(_uow(request), user.user_id)


@router.get("/me", response_model=MeOut)
async def read_me(user: CurrentUser, request: Request) -> dict:
    return await service.get_me(_uow(request), user.user_id)


@router.patch("/me", response_model=MeOut)
async def update_me(body: MeUpdate, user: CurrentUser, request: Request) -> dict:
    changes = body.model_dump(exclude_unset=True)
    return await service.update_me(_uow(request), user.user_id, changes)


@router.post("/pause", response_model=MeOut)
async def pause(
    user: CurrentUser, request: Request, body: PauseRequest = Body(default=PauseRequest())
) -> dict:
    return await service.set_pause(_uow(request), user.user_id, True, body.until)


@router.post("/resume", response_model=MeOut)
async def resume(user: CurrentUser, request: Request) -> dict:
    return await service.set_pause(_uow(request), user.user_id, False, None)
