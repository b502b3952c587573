"""The lease (shared/lease.py): one holder at a time among several processes; the work stops
when the lease is lost and another takes over; the fence says whether it is still held.

Two ``Lease`` objects in one event loop stand for two instances: each has its own PostgreSQL
session, which is all the lock knows about."""

import asyncio
import uuid

import psycopg
import pytest

from tests.support.helpers import eventually
from unimatch_shared.lease import Lease


class Instance:
    """One contender: its lease, its work (runs until cancelled) and what happened to it."""

    def __init__(self, database_url: str, name: str):
        self.changes: list[bool] = []
        self.lease = Lease(
            database_url, name, check_seconds=0.2, retry_seconds=0.1, on_change=self.changes.append
        )
        self.working = False
        self.task: asyncio.Task | None = None

    async def work(self) -> None:
        self.working = True
        try:
            await asyncio.Event().wait()
        finally:
            self.working = False

    def start(self) -> None:
        self.task = asyncio.create_task(self.lease.hold(self.work))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def pair(infra):
    name = f"test.lease.{uuid.uuid4()}"
    first, second = Instance(infra.database_url, name), Instance(infra.database_url, name)
    yield first, second
    await first.stop()
    await second.stop()


async def test_one_instance_holds_the_lease_and_the_other_waits(pair):
    first, second = pair
    first.start()
    await eventually(lambda: first.working, "the first instance takes the lease")
    second.start()
    await asyncio.sleep(1)  # many of the second's tries
    assert [first.working, second.working] == [True, False]
    assert await first.lease.held()
    assert not await second.lease.held()


async def test_stopping_the_holder_hands_the_lease_over(pair):
    first, second = pair
    first.start()
    await eventually(lambda: first.working)
    second.start()
    await first.stop()
    assert first.changes == [True, False]
    await eventually(lambda: second.working, "the second instance takes over")
    assert second.changes == [True]


async def test_holder_whose_session_dies_is_fenced_stops_and_the_other_takes_over(pair, infra):
    """The holder's session ends (as when its process or host dies): the lock is freed at
    once, the holder's fence closes at once (its work takes no further step), it cancels its
    work at its next check, and the other instance takes over."""
    first, second = pair
    first.start()
    await eventually(lambda: first.working)
    second.start()
    async with await psycopg.AsyncConnection.connect(infra.database_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(%s)", (first.lease._connection.info.backend_pid,)
        )
    assert not await first.lease.held()
    await eventually(lambda: not first.working, "the old holder stops its work")
    await eventually(lambda: second.working, "the other instance takes over")
    assert first.changes[:2] == [True, False]


async def test_work_that_fails_gives_the_lease_up_and_is_started_again(infra):
    starts = 0

    async def failing() -> None:
        nonlocal starts
        starts += 1
        raise RuntimeError("boom")

    lease = Lease(infra.database_url, f"test.lease.{uuid.uuid4()}", retry_seconds=0.05)
    task = asyncio.create_task(lease.hold(failing))
    try:
        await eventually(lambda: starts >= 3, "the work is started again after failing")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
