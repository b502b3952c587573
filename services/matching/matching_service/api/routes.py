"""Matching endpoints: time to the next round (public, on the seed and the web surface), and
rounds (staff)."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from matching_service import service
from matching_service.adapters.db.tables import MatchRound
from matching_service.api.dependencies import RoundSchedule, UoW, round_schedule
from matching_service.api.schemas import CountdownOut, RoundListItem, RoundOut, RoundStatsOut
from matching_service.domain.schedule import Schedule
from unimatch_shared.auth import StaffUser
from unimatch_shared.fields import RowId
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.openapi import NOT_FOUND

reads = APIRouter(route_class=LeanRead)
router = APIRouter()


@reads.get("/users/api/days-to-match", response_model=CountdownOut)
@reads.get("/api/days-to-match", response_model=CountdownOut, tags=["web"])
async def days_to_match(request: Request) -> Response:
    """Public on both surfaces; the web front end's Bearer header, if sent, is not needed."""
    return json_response(vars(round_schedule(request).countdown(datetime.now(UTC))))


@router.post("/matching/api/rounds", status_code=201, response_model=RoundOut)
async def hold_round(_: StaffUser, uow: UoW, schedule: RoundSchedule) -> dict:
    match_round = await service.run_round(uow, schedule)
    return _round_out(match_round, schedule)


@router.get("/matching/api/rounds", response_model=list[RoundListItem])
async def list_rounds(_: StaffUser, uow: UoW, schedule: RoundSchedule) -> list[dict]:
    """The 20 most recent rounds, newest first."""
    rounds = await service.recent_rounds(uow)
    return [_round_out(r, schedule) | {"slot": r.slot and schedule.display(r.slot)} for r in rounds]


@router.get(
    "/matching/api/rounds/{round_id}/stats", response_model=RoundStatsOut, responses=NOT_FOUND
)
async def round_stats(round_id: RowId, _: StaffUser, uow: UoW) -> dict:
    return await service.round_stats(uow, round_id)


def _round_out(match_round: MatchRound, schedule: Schedule) -> dict:
    return {
        "round_id": match_round.id,
        "created_at": schedule.display(match_round.started_at),
        "groups": match_round.groups,
        "users": match_round.users,
        "with_common_hobby": match_round.with_common_hobby,
    }
