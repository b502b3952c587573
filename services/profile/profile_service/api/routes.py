"""Profile endpoints: the hobby catalog, one's tags, profile, pause state and matches.

The hot reads (catalog, tags, pairs, me) are ``LeanRead`` routes: they answer from memory or
the read pool's views and return their JSON as is, with no dependency solving per request;
``response_model`` still documents each shape in OpenAPI.
"""

from fastapi import APIRouter, Body, Request, Response

from profile_service import service
from profile_service.adapters.db import views
from profile_service.api.dependencies import Requests, UoW, hobby_catalog, read_pool
from profile_service.api.schemas import MatchOut, MeOut, MeUpdate, PauseRequest
from unimatch_shared.auth import CurrentUser
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.openapi import NO_PROFILE, THROTTLED, Responses
from unimatch_shared.schemas import HobbyOut

reads = APIRouter(prefix="/users/api", route_class=LeanRead)
router = APIRouter(prefix="/users/api")
NOT_MODIFIED: Responses = {304: {"description": "The client's copy (`If-None-Match`) is current"}}


@reads.get("/hobby/all", response_model=list[HobbyOut], responses=NOT_MODIFIED)
async def all_hobbies(request: Request) -> Response:
    return hobby_catalog(request).response(request.headers.get("if-none-match"))


@reads.get("/tags", response_model=list[str])
async def my_tags(user: CurrentUser, request: Request) -> Response:
    return json_response(await views.tags_json(read_pool(request), user.user_id))


@reads.get("/pairs", response_model=list[MatchOut])
async def my_matches(user: CurrentUser, request: Request) -> Response:
    return json_response(await views.match_history_json(read_pool(request), user.user_id))


@reads.get("/me", response_model=MeOut, responses=NO_PROFILE)
async def read_me(user: CurrentUser, request: Request) -> Response:
    return json_response(await service.read_me(read_pool(request), user.user_id))


@router.patch("/me", response_model=MeOut, responses={**NO_PROFILE, **THROTTLED})
async def update_me(body: MeUpdate, user: CurrentUser, uow: UoW, messaging: Requests) -> dict:
    changes = body.model_dump(exclude_unset=True)
    return await service.update_me(uow, messaging, user.user_id, changes)


@router.post("/pause", response_model=MeOut, responses=NO_PROFILE)
async def pause(
    user: CurrentUser, uow: UoW, body: PauseRequest = Body(default=PauseRequest())
) -> dict:
    return await service.set_pause(uow, user.user_id, True, body.until)


@router.post("/resume", response_model=MeOut, responses=NO_PROFILE)
async def resume(user: CurrentUser, uow: UoW) -> dict:
    return await service.set_pause(uow, user.user_id, False, None)
