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


async def waiting_for_a_lock(database_url: str) -> int:
    """How many sessions in this database wait for a lock another transaction holds: how a
    test sees that a transaction it started has reached the row or lock it must wait for."""
    (row,) = await query(
        database_url,
        "public",
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return row[0]


async def until_blocked_or_done(database_url: str, task: asyncio.Task) -> None:
    """Let ``task``, a transaction racing one the test holds open, run until it finishes or
    waits for that transaction's lock."""
    await eventually(
        lambda: task.done() or waiting_for_a_lock(database_url),
        "the racing transaction finishes or waits",
    )


async def race(runtime, database_url: str, holding, racing) -> None:
    """``holding(uow)`` writes in a transaction held open while ``racing()`` (a use case in a
    transaction of its own) runs until it finishes or waits for it; then both commit."""
    async with runtime.unit_of_work() as uow:
        await holding(uow)
        task = asyncio.create_task(racing())
        await until_blocked_or_done(database_url, task)
        await uow.commit()
    await task


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
