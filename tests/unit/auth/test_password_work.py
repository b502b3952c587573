"""Password hashing off the event loop: low priority, a bounded wait, shed with a 503."""

import asyncio
import os
import threading

import pytest

from auth_service.adapters.hashing import OVERLOADED, PasswordWork
from unimatch_shared.errors import ServiceUnavailable


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_work_runs_on_a_thread_of_lower_priority():
    work = PasswordWork(threads=1, budget=1.0, niceness=7)
    try:
        loop_niceness = own_niceness()
        assert await work.run(own_niceness) == min(loop_niceness + 7, 19)
        assert await work.run(os.sched_getscheduler, 0) == os.SCHED_IDLE
        assert own_niceness() == loop_niceness
        assert os.sched_getscheduler(0) != os.SCHED_IDLE
    finally:
        work.close()


async def test_a_caller_that_cannot_get_a_thread_in_time_is_shed():
    work = PasswordWork(threads=1, budget=0.2, niceness=0)
    release = threading.Event()
    try:
        busy = asyncio.create_task(work.run(release.wait, 5))
        await asyncio.sleep(0.05)
        with pytest.raises(ServiceUnavailable) as shed:
            await work.run(lambda: "never")
        assert shed.value.status_code == 503
        assert shed.value.body == {"detail": OVERLOADED}
        assert shed.value.headers == {"Retry-After": "1"}
        with pytest.raises(ServiceUnavailable):
            await busy

        release.set()
        await asyncio.sleep(0.05)
        assert await work.run(lambda: "served") == "served"  # the thread was given back
    finally:
        release.set()
        work.close()


async def test_work_that_cannot_finish_in_time_is_shed_and_frees_its_thread_when_done():
    work = PasswordWork(threads=1, budget=0.2, niceness=0)
    release = threading.Event()
    try:
        with pytest.raises(ServiceUnavailable) as shed:
            await work.run(release.wait, 5)
        assert shed.value.headers == {"Retry-After": "1"}
        with pytest.raises(ServiceUnavailable):  # still hashing in the background
            await work.run(lambda: "never")
        release.set()
        await asyncio.sleep(0.05)
        assert await work.run(lambda: "served") == "served"
    finally:
        release.set()
        work.close()


async def test_waiting_callers_are_served_in_turn_within_the_budget():
    work = PasswordWork(threads=2, budget=2.0, niceness=0)
    try:
        results = await asyncio.gather(*(work.run(lambda i=i: i * i) for i in range(8)))
        assert results == [i * i for i in range(8)]
    finally:
        work.close()


async def test_a_caller_with_less_time_left_than_the_budget_is_shed_at_its_own_deadline():
    work = PasswordWork(threads=1, budget=5.0, niceness=0)
    release = threading.Event()
    try:
        with pytest.raises(ServiceUnavailable):
            await asyncio.wait_for(work.run(release.wait, 5, within=0.1), timeout=1.0)
        release.set()
        await asyncio.sleep(0.05)
        hashed = threading.Event()
        with pytest.raises(ServiceUnavailable):  # no time left: shed without hashing
            await work.run(hashed.set, within=0.0)
        await asyncio.sleep(0.05)
        assert not hashed.is_set()
        assert await work.run(lambda: "served", within=1.0) == "served"
    finally:
        release.set()
        work.close()
