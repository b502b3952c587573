"""Answers about one's matches and blocks (docs/api.md, Meeting feedback and Blocks): "did
you meet?" per row of ``GET /users/api/pairs``, and "never pair me with this person
again"."""

from fastapi import APIRouter, Request, Response

from profile_service import meetings
from profile_service.adapters.db import views
from profile_service.api.dependencies import UoW, read_pool
from profile_service.api.schemas import BlockIn, BlockOut, FeedbackIn, FeedbackOut
from unimatch_shared.auth import CurrentUser
from unimatch_shared.fields import RowId
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.openapi import NOT_FOUND

reads = APIRouter(prefix="/users/api", route_class=LeanRead)
router = APIRouter(prefix="/users/api")


@router.post(
    "/pairs/{match_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses=NOT_FOUND,
)
async def answer_feedback(match_id: RowId, body: FeedbackIn, user: CurrentUser, uow: UoW) -> dict:
    """``match_id`` is the ``id`` of a row of the caller's own ``GET /users/api/pairs``;
    answering again replaces the answer."""
    return await meetings.answer_feedback(uow, user.user_id, match_id, body.model_dump())


@reads.get("/blocks", response_model=list[BlockOut])
async def my_blocks(user: CurrentUser, request: Request) -> Response:
    return json_response(await views.blocks_json(read_pool(request), user.user_id))


@router.post("/blocks", status_code=201, response_model=BlockOut)
async def block(body: BlockIn, user: CurrentUser, uow: UoW) -> dict:
    """Never group the caller with this past partner again; the partner is not told."""
    return await meetings.block_partner(uow, user.user_id, body.user_id)


@router.delete("/blocks/{user_id}", status_code=204, responses=NOT_FOUND)
async def unblock(user_id: RowId, user: CurrentUser, uow: UoW) -> Response:
    await meetings.unblock_partner(uow, user.user_id, user_id)
    return Response(status_code=204)
