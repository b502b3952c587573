"""An idle, healthy service logs nothing at WARNING or above: operators alert on ERROR.

Each service with event consumers runs in-process with nothing to consume for a few pull
timeouts. Its consumers' pulls come back empty again and again; none of that may reach the log
as a warning or error (it did: FastStream's task supervisor logged every empty multi-message
pull that nats-py ended with a bare ``asyncio.TimeoutError`` as a crashed task, traceback and
all).
"""

import asyncio
import contextlib
import logging
import time

import pytest

from matching_service.main import create_app as create_matching
from matching_service.settings import MatchingSettings
from notifier_service.main import create_app as create_notifier
from notifier_service.settings import NotifierSettings
from profile_service.main import create_app as create_profile
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from unimatch_shared.consumers import PULL_TIMEOUT_SECONDS

IDLE_PULLS = 6  # each consumer's empty pulls the test waits through

SERVICES = {
    "profile": (create_profile, ProfileSettings),
    "matching": (create_matching, MatchingSettings),
    "notifier": (create_notifier, NotifierSettings),
}


async def busy_loop() -> None:
    """Keep the event loop busy most of the time, as a service is at start-up or under load:
    a pull's reply and its timer then come due in the same loop iteration more often, where
    the failure showed."""
    while True:
        time.sleep(0.05)  # blocking on purpose
        await asyncio.sleep(0.002)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("name", SERVICES)
async def test_an_idle_service_logs_no_warnings(name, service_settings, monkeypatch):
    # FastStream's supervisor prints each distinct task failure once per process and hour;
    # forget what earlier tests in this process printed, so this one sees every failure.
    monkeypatch.setenv("FASTSTREAM_SUPERVISOR_CACHE_TTL", "0")
    create_app, settings_class = SERVICES[name]
    app = create_app(settings_class(**service_settings))
    collect = Collect()  # after create_app: it installs the service's own root handler
    logging.getLogger().addHandler(collect)
    try:
        async with running_app(app):
            busy = asyncio.create_task(busy_loop())
            await asyncio.sleep(IDLE_PULLS * PULL_TIMEOUT_SECONDS)
            busy.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await busy
    finally:
        logging.getLogger().removeHandler(collect)
    logged = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in collect.records]
    assert logged == []
