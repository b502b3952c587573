"""Helpers every integration suite shares: SQL on a service's schema,
waiting for something to become true, publishing an event as a service's relay would."""

import asyncio
import inspect
import time

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from unimatch_shared.events import Event

# JetStream's ack wait for the services under test (UNIMATCH_ACK_WAIT_SECONDS): what a consumer
# fetched but never acked (it was killed, NATS lost the ack) comes back after this, not after
# the 30 s default. Long enough for any handler to finish, so nothing is redelivered otherwise.
ACK_WAIT_SECONDS = 5.0


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample on an in-process service's ``/metrics``, by name and labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def query(database_url: str, schema: str, sql: str, *params) -> list[tuple]:
    """Rows from one service's schema (async, so apps in this event loop keep running)."""
    async with await psycopg.AsyncConnection.connect(
        database_url, options=f"-csearch_path={schema}", autocommit=True
    ) as connection:
        cursor = await connection.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []


async def race(runtime, database_url: str, first, second) -> None:
    """Two use cases of ``runtime`` (each ``use_case(uow)``, opening and committing its own
    transaction) at the same moment: ``first`` writes everything and its commit is held back
    until ``second`` waits for one of its locks; then both finish. Fails if ``second`` ends
    without waiting (the race the test is about never happened)."""
    held, reached, release = runtime.unit_of_work(), asyncio.Event(), asyncio.Event()
    commit = held.commit

    async def commit_when_released() -> None:
        reached.set()
        await release.wait()
        await commit()

    held.commit = commit_when_released
    writing = asyncio.create_task(first(held))
    await eventually(lambda: reached.is_set() or writing.done(), "the first use case written")
    if writing.done():
        await writing  # its error, if any
        raise AssertionError("the first use case ended without committing")
    racing = asyncio.create_task(second(runtime.unit_of_work()))

    async def second_waits() -> int:
        if racing.done():
            await racing
            raise AssertionError("the second use case ended without waiting for the first")
        return await _waiting_for_a_lock(database_url)

    try:
        await eventually(second_waits, "the second use case waits for the first")
    finally:
        release.set()
        await asyncio.gather(writing, racing, return_exceptions=True)
    await asyncio.gather(writing, racing)


async def _waiting_for_a_lock(database_url: str) -> int:
    """How many sessions in this database wait for a lock another transaction holds."""
    (row,) = await query(
        database_url,
        "public",
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return row[0]


def eventually(check, what: str | None = None, *, timeout: float = 30.0, interval: float = 0.05):
    """Poll ``check()`` until it returns something truthy, and return that; after ``timeout``
    seconds raise ``AssertionError`` saying what never came true and the last value seen.

    The one way tests wait. In a coroutine, ``await eventually(...)``: ``check`` may be a plain
    or an async function, and the event loop (in-process services, the stand-in Telegram)
    runs between polls. Elsewhere it polls in place and returns the value.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _eventually_blocking(check, what, timeout, interval)
    return _eventually_async(check, what, timeout, interval)


def _eventually_blocking(check, what, timeout, interval):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(_never(check, what, timeout, result))
        time.sleep(interval)
    return result


async def _eventually_async(check, what, timeout, interval):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(_never(check, what, timeout, result))
        await asyncio.sleep(interval)


def _never(check, what, timeout, last) -> str:
    what = what or (check.__doc__ or "").strip() or getattr(check, "__qualname__", repr(check))
    return f"not within {timeout:g}s: {what} (last: {last!r:.500})"


async def publish(js, prefix: str, event: Event, msg_id: str | None = None) -> None:
    """Publish ``event`` to JetStream (a ``JetStreamContext``) as an outbox relay does;
    ``msg_id`` overrides the dedup key, to simulate a redelivery the stream would not drop."""
    await js.publish(
        prefix + event.SUBJECT,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": msg_id or str(event.event_id)},
    )
