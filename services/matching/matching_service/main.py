"""Builds the matching service's app: its runtime, NATS consumers, scheduler and routes."""

from fastapi import FastAPI

from matching_service.adapters.db.unit_of_work import SqlMatchingUnitOfWork
from matching_service.api.routes import reads, router
from matching_service.events.handlers import build_router
from matching_service.scheduler import round_scheduler
from matching_service.settings import MatchingSettings
from unimatch_shared.events import PairCreated, RoundSkipped
from unimatch_shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(
        "matching",
        settings,
        emits=[PairCreated, RoundSkipped],
        unit_of_work=SqlMatchingUnitOfWork,
    )
    runtime.messaging.broker.include_router(build_router(runtime, settings.schedule))
    runtime.run_in_background(
        "round-scheduler",
        round_scheduler(runtime, settings.schedule, settings.matching_scheduler_interval_seconds),
    )

    return create_service_app(
        runtime,
        [reads, router],
        title="UniMatch matching",
        description="Weekly rounds: who takes part, pairs and the trio, the schedule.",
        state={"schedule": settings.schedule},
    )
