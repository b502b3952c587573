"""Every worker of every service makes sure the streams and the session bucket exist at
start-up, all at once on a fresh NATS: the losers of the race must find the winner's, not fail
to start (once, "subjects overlap with an existing stream" stopped a whole service)."""

import asyncio

import pytest
from nats.js.errors import NotFoundError

from unimatch_shared.messaging import Messaging
from unimatch_shared.sessions import SessionStore
from unimatch_shared.settings import ServiceSettings
from unimatch_stack.testinfra import forget_event_prefix, new_event_prefix


async def test_services_starting_at_once_all_get_the_streams(fresh_prefix, js):
    settings = ServiceSettings(
        nats_url=fresh_prefix.nats_url, unimatch_event_prefix=fresh_prefix.event_prefix
    )
    starting = [Messaging(settings, client_name=f"worker-{n}") for n in range(8)]
    for messaging in starting:
        await messaging.broker.connect()
    try:
        await asyncio.gather(*(messaging.ensure_streams() for messaging in starting))
        stores = [SessionStore(messaging, idle_seconds=3600) for messaging in starting]
        created = await asyncio.gather(*(store.open() for store in stores))
        assert any(created)
        assert {store.bucket for store in stores} == {stores[0].bucket}
    finally:
        for messaging in starting:
            await messaging.broker.stop()
    names = {starting[0].stream.name, starting[0].dead_letter_stream}
    assert {(await js.stream_info(name)).config.name for name in names} == names


async def test_a_tests_streams_are_deleted_afterwards_and_no_one_elses(infra, js):
    """What ``fresh_prefix`` does after each test, so a shared NATS does not fill up."""
    streams = {}
    for prefix in (new_event_prefix(), new_event_prefix()):
        messaging = Messaging(
            ServiceSettings(nats_url=infra.nats_url, unimatch_event_prefix=prefix), "test"
        )
        await messaging.broker.connect()
        try:
            await messaging.ensure_streams()
            store = SessionStore(messaging, idle_seconds=60)
            await store.open()
        finally:
            await messaging.broker.stop()
        streams[prefix] = {
            messaging.stream.name,
            messaging.dead_letter_stream,
            f"KV_{store.bucket}",
        }
    mine, theirs = streams

    await asyncio.to_thread(forget_event_prefix, infra.nats_url, mine)

    for name in streams[mine]:
        with pytest.raises(NotFoundError):
            await js.stream_info(name)
    assert {(await js.stream_info(name)).config.name for name in streams[theirs]} == streams[theirs]
    await asyncio.to_thread(forget_event_prefix, infra.nats_url, theirs)
