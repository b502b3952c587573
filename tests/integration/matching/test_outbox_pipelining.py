"""The outbox relay with a whole batch in flight (docs/adr/014): a round's events reach the
stream once each and in outbox order, and a publish that fails mid-batch re-sends only the
rows that were not acknowledged, JetStream's Nats-Msg-Id window dropping any repeat."""

from contextlib import asynccontextmanager

import pytest

from matching_service import service
from matching_service.main import create_app
from tests.conftest import running_app
from tests.integration.matching.helpers import (
    FakeVerifier,
    profile,
    published_pairs,
    wait_for_participants,
)
from tests.support.helpers import publish, query
from unimatch_shared import outbox

USERS = 40  # 20 groups


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 8)


@asynccontextmanager
async def running_with_participants(settings, js):
    """Matching, running, once it knows ``USERS`` participants (from ``profile.changed``)."""
    app = create_app(settings)
    app.state.token_verifier = FakeVerifier()
    async with running_app(app):
        for user_id in range(1, USERS + 1):
            await publish(js, settings.unimatch_event_prefix, profile(user_id, 1 + user_id % 9))
        await wait_for_participants(settings.database_url, USERS)
        yield app.state.runtime


async def outbox_ids_by_event(db) -> dict[str, int]:
    rows = await query(db, "matching", "SELECT event_id::text, id FROM outbox_message")
    return dict(rows)


async def test_events_reach_the_stream_once_each_in_outbox_order(
    matching_settings, js, small_batches
):
    db = matching_settings.database_url
    async with running_with_participants(matching_settings, js) as runtime:
        for _ in range(2):
            await service.run_round(runtime.unit_of_work(), matching_settings.schedule)
        events = await published_pairs(js, runtime, db)
        order = await outbox_ids_by_event(db)
    assert len(events) == len({e.event_id for e in events}) == 2 * USERS // 2
    assert [order[str(e.event_id)] for e in events] == sorted(order.values())


async def test_a_publish_failing_mid_batch_resends_only_the_unacknowledged(
    matching_settings, js, small_batches, monkeypatch
):
    db = matching_settings.database_url
    async with running_with_participants(matching_settings, js) as runtime:
        relay, jetstream = runtime.relay, runtime.messaging.jetstream()
        await relay.stop()  # publish by hand below

        real_publish, calls = jetstream.publish_async, []

        async def fails_on_the_fifth(*args, **kwargs):
            calls.append(args[0])
            if len(calls) == 5:
                raise ConnectionError("connection lost mid-batch")
            return await real_publish(*args, **kwargs)

        monkeypatch.setattr(jetstream, "publish_async", fails_on_the_fifth)
        await service.run_round(runtime.unit_of_work(), matching_settings.schedule)
        with pytest.raises(ConnectionError):
            await relay.publish_pending()
        marked = await query(
            db, "matching", "SELECT count(*) FROM outbox_message WHERE published_at IS NOT NULL"
        )
        assert marked == [(4,)]  # the four acknowledged before the failure

        # A relay that died after publishing but before marking: everything is re-sent.
        await query(db, "matching", "UPDATE outbox_message SET published_at = NULL")
        while await relay.publish_pending():
            pass
        events = await published_pairs(js, runtime, db)
    assert len(events) == len({e.event_id for e in events}) == USERS // 2
