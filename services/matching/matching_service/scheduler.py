"""The round scheduler: a background loop asking, at start and every few seconds, whether
the latest slot is due. The slot is claimed in the database (``service.run_due_round``), so
any number of instances may poll at once (docs/adr/005-round-scheduling.md)."""

import asyncio
import logging

from matching_service import service
from matching_service.adapters.db.unit_of_work import SqlMatchingUnitOfWork
from matching_service.domain.schedule import Schedule
from unimatch_shared import correlation
from unimatch_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


def round_scheduler(
    runtime: ServiceRuntime[SqlMatchingUnitOfWork], schedule: Schedule, interval_seconds: float
):
    """The loop to hand ``runtime.run_in_background``."""

    async def run() -> None:
        while True:
            # Each check gets an id, as a request would: a round's events and log lines carry it.
            with correlation.bound(request_id=correlation.new_id()):
                try:
                    held = await service.run_due_round(runtime.unit_of_work(), schedule)
                except Exception:
                    log.warning("scheduler: the due round failed, retrying", exc_info=True)
                else:
                    if held is not None:
                        log.info(
                            "round %s held for slot %s: %s groups", held.id, held.slot, held.groups
                        )
            await asyncio.sleep(interval_seconds)

    return run
