"""Profile's web-surface endpoints (docs/api.md, Web surface): the catalog, the caller's
hobbies, profile and matches, for callers with a Bearer access token.

The reads are ``LeanRead`` routes like their seed twins (docs/adr/013).
"""

from fastapi import APIRouter, Request, Response

from profile_service import service
from profile_service.adapters.db import views
from profile_service.api.dependencies import Requests, UoW, hobby_catalog, read_pool
from profile_service.api.schemas import (
    HobbyOut,
    HobbyTotalOut,
    WebMeOut,
    WebMeUpdate,
    WebPairsOut,
)
from unimatch_shared.errors import EMAIL_TAKEN, Invalid
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.openapi import Responses, WebErrorBody
from unimatch_shared.web import WebError, WebUser

reads = APIRouter(prefix="/api", route_class=LeanRead, tags=["web"])
router = APIRouter(prefix="/api", tags=["web"])
THROTTLED: Responses = {
    429: {"model": WebErrorBody, "description": "Too many new emails lately (`Retry-After`)"}
}
UNKNOWN_HOBBY = "Хобби: выбрано хобби, которого нет в списке"
WEB_EMAIL_TAKEN = "Пользователь с таким email уже существует"
INVALID_EMAIL = "Email: некорректный адрес"


@reads.get("/hobby/all", response_model=list[HobbyOut])
async def all_hobbies(request: Request) -> Response:
    """Public: the sign-up form shows it before anyone logs in."""
    return hobby_catalog(request).response(request.headers.get("if-none-match"))


@reads.get("/hobby/total", response_model=HobbyTotalOut)
async def hobby_total(user: WebUser, request: Request) -> Response:
    return json_response(await views.hobby_total_json(read_pool(request), user.user_id))


@reads.get("/auth/users/me", response_model=WebMeOut)
async def read_me(user: WebUser, request: Request) -> Response:
    return json_response(await service.read_web_me(read_pool(request), user.user_id))


@router.patch("/auth/users/me", response_model=WebMeOut, responses=THROTTLED)
async def update_me(body: WebMeUpdate, user: WebUser, uow: UoW, messaging: Requests) -> dict:
    """An ``email`` other than the account's is mailed a confirmation link and shows as
    ``pending_email`` until it is followed."""
    changes = body.model_dump(exclude_unset=True)
    try:
        return await service.update_me(uow, messaging, user.user_id, changes, web=True)
    except Invalid as refusal:
        raise WebError(400, _web_message(refusal.errors)) from None


def _web_message(errors: dict) -> str:
    if "email" not in errors:
        return UNKNOWN_HOBBY
    return WEB_EMAIL_TAKEN if errors["email"] == [EMAIL_TAKEN] else INVALID_EMAIL


@reads.get("/pairs", response_model=WebPairsOut)
async def my_matches(user: WebUser, request: Request) -> Response:
    return json_response(await service.read_web_pairs(read_pool(request), user.user_id))
