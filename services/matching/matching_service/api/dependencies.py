"""What matching's endpoints get from this process, typed: the one place that reads
``request.app.state``. The lean ``days-to-match`` solves no dependencies
(docs/adr/013-lean-hot-reads.md) and calls ``round_schedule`` itself."""

from typing import Annotated

from fastapi import Depends, Request

from matching_service.domain.schedule import Schedule
from matching_service.unit_of_work import MatchingUnitOfWork
from unimatch_shared.runtime import unit_of_work


def round_schedule(request: Request) -> Schedule:
    schedule: Schedule = request.app.state.schedule
    return schedule


UoW = Annotated[MatchingUnitOfWork, Depends(unit_of_work)]
RoundSchedule = Annotated[Schedule, Depends(round_schedule)]
