"""A service's start-up waits out what is not there yet instead of exiting (shared/runtime.py):
under uvicorn's workers, one worker failing to start stops the whole service (ADR 011). Shown
on matching; every service starts through the same ``ServiceRuntime.start``."""

import asyncio
from collections.abc import Callable

import nats.errors
import pytest
from nats.js.client import JetStreamContext

from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from tests.conftest import running_app
from tests.integration.matching.helpers import FakeVerifier, profile, wait_for_participants
from tests.support.helpers import publish
from unimatch_stack.infra import EmbeddedNats, EmbeddedPostgres, free_ports

EVENTS = 20


async def test_a_consumer_whose_creation_times_out_is_made_again_and_consumes(
    matching_settings, js, monkeypatch, capfd
):
    """What a busy cluster did to one worker: the JetStream request behind a durable consumer
    timed out while the others had started. The half-started broker is stopped and started
    again, and every consumer then takes its events."""
    create_consumer = JetStreamContext.pull_subscribe
    attempts: list[str] = []

    async def times_out_once(self, subject, durable=None, **options):
        attempts.append(durable)
        if attempts.count(durable) == 1 and durable == "matching-profile-changed":
            raise nats.errors.TimeoutError
        return await create_consumer(self, subject, durable, **options)

    monkeypatch.setattr(JetStreamContext, "pull_subscribe", times_out_once)
    app = create_app(matching_settings)
    app.state.token_verifier = FakeVerifier()
    async with running_app(app) as client:
        assert attempts.count("matching-profile-changed") == 2
        assert (await client.get("/readyz")).status_code == 200
        for user_id in range(1, EVENTS + 1):
            await publish(js, matching_settings.unimatch_event_prefix, profile(user_id, 1))
        await wait_for_participants(matching_settings.database_url, EVENTS)
    logged = "".join(capfd.readouterr())
    assert "matching service: NATS not available (TimeoutError), trying again" in logged


async def test_a_service_started_before_nats_waits_for_it(service_settings, tmp_path):
    (port,) = free_ports(1)
    settings = {**service_settings, "nats_url": f"nats://127.0.0.1:{port}"}
    broker = EmbeddedNats(tmp_path / "nats", port=port)
    try:
        await waits_until_started(settings, broker.start, "NATS")
    finally:
        broker.stop()


async def test_a_service_started_while_postgres_is_down_waits_for_it(service_settings, tmp_path):
    """Its migrations, the first step, are tried again until the server answers."""
    postgres = EmbeddedPostgres(tmp_path / "pg", port=0)
    database_url = postgres.start()
    postgres.stop()  # it comes back on the same port
    try:
        settings = {**service_settings, "database_url": database_url}
        await waits_until_started(settings, postgres.start, "PostgreSQL")
    finally:
        postgres.stop()


async def waits_until_started(settings: dict, bring_up: Callable[[], object], what: str) -> None:
    """Matching, started with ``what`` down, neither fails nor gets ready until
    ``bring_up()``; then it is ready."""
    app = create_app(MatchingSettings(**settings))
    app.state.token_verifier = FakeVerifier()

    async def ready_status() -> int:
        async with running_app(app) as client:
            return (await client.get("/readyz")).status_code

    starting = asyncio.create_task(ready_status())
    try:
        await asyncio.sleep(2)
        assert not starting.done(), f"the service waits for {what}, neither failing nor ready"
        await asyncio.to_thread(bring_up)
        assert await asyncio.wait_for(starting, 60) == 200
    finally:
        starting.cancel()


@pytest.fixture
def matching_settings(service_settings) -> MatchingSettings:
    return MatchingSettings(**service_settings)
