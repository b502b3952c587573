"""Builds the profile service's app: its runtime, NATS handlers, HTTP routes and the sweeper
of abandoned sign-ups."""

import asyncio
import logging
from datetime import timedelta

from fastapi import FastAPI

from profile_service import service
from profile_service.adapters.db import views
from profile_service.adapters.db.unit_of_work import SqlProfileUnitOfWork
from profile_service.api import meetings, web
from profile_service.api.catalog import HobbyCatalog
from profile_service.api.routes import reads, router
from profile_service.events.handlers import build_router
from profile_service.settings import ProfileSettings
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import (
    MeetingFeedback,
    PartnerBlocked,
    PartnerUnblocked,
    ProfileChanged,
)
from unimatch_shared.runtime import ServiceRuntime, create_service_app

log = logging.getLogger(__name__)


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    settings = settings or ProfileSettings()
    runtime = ServiceRuntime(
        "profile",
        settings,
        emits=[ProfileChanged, MeetingFeedback, PartnerBlocked, PartnerUnblocked],
        read_pool=True,
        unit_of_work=SqlProfileUnitOfWork,
    )
    runtime.messaging.broker.include_router(build_router(runtime))
    catalog = HobbyCatalog()

    async def load_catalog() -> None:
        assert runtime.reads is not None  # read_pool=True
        catalog.load(await views.catalog_json(runtime.reads))

    runtime.on_start.append(load_catalog)
    ttl = timedelta(seconds=settings.unconfirmed_profile_ttl_seconds)

    async def sweep_abandoned_signups() -> None:
        while True:
            try:
                swept = await service.purge_unconfirmed(
                    runtime.unit_of_work(), runtime.messaging, ttl
                )
                if swept.removed:
                    log.info("removed %d abandoned sign-up profiles", swept.removed)
                if swept.confirmed:
                    log.warning(
                        "confirmed %d profiles whose accounts exist but whose user.registered "
                        "never applied (dead letters?)",
                        swept.confirmed,
                    )
            except ServiceUnavailable:
                log.warning("sweeping abandoned sign-ups: auth unreachable, deleting nothing")
            except Exception:
                log.warning("sweeping abandoned sign-ups failed", exc_info=True)
            await asyncio.sleep(ttl.total_seconds() / 4)

    runtime.run_in_background("signup-sweeper", sweep_abandoned_signups)
    return create_service_app(
        runtime,
        [reads, router, meetings.reads, meetings.router, web.reads, web.router],
        title="UniMatch profile",
        description="Hobbies, profiles, pause state and match history.",
        state={"hobby_catalog": catalog},
    )
