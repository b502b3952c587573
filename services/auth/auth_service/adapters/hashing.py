"""Where password hashing runs: a few threads of low CPU priority, with a bounded wait for one
(docs/adr/012-password-hashing-and-load-shedding.md).

Argon2 is deliberately expensive. Run on the default executor, a flood of logins would take
every core and every pooled connection, and queue until clients time out. Instead:
- the threads run at a lower priority (nice), so under contention the scheduler serves reads
  first and hashing takes what is left, while an idle machine still hashes at full speed;
- each call has a ``budget``: waiting for a free thread and hashing must both end within it,
  else the caller is shed with ``503`` and ``Retry-After`` — answered in bounded time, never
  queued past a client's timeout. A hash already started finishes in the background and
  only then frees its thread, so abandoned work never piles up behind the pool.
argon2's C code releases the GIL, so the threads hash in parallel with the event loop.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from unimatch_shared.errors import ServiceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

OVERLOADED = "Too many logins at once, try again shortly."


class PasswordWork:
    def __init__(self, threads: int, budget: float, niceness: int):
        self._executor = ThreadPoolExecutor(
            threads,
            thread_name_prefix="password-hashing",
            initializer=_lower_priority,
            initargs=(niceness,),
        )
        self._free = asyncio.Semaphore(threads)
        self._budget = budget

    async def run(self, work: Callable[..., T], *args: object, within: float | None = None) -> T:
        """``work(*args)`` on a hashing thread, or ``503`` if it cannot be done in time: within
        the budget, or ``within`` seconds if the caller has less left (nothing left: shed)."""
        loop = asyncio.get_running_loop()
        budget = self._budget if within is None else min(self._budget, within)
        deadline = loop.time() + budget
        try:
            async with asyncio.timeout_at(deadline):
                await self._free.acquire()
        except TimeoutError:
            raise ServiceUnavailable(OVERLOADED, retry_after=1) from None
        if loop.time() >= deadline:  # a free thread is taken without waiting, even too late
            self._free.release()
            raise ServiceUnavailable(OVERLOADED, retry_after=1)
        done = loop.run_in_executor(self._executor, work, *args)
        done.add_done_callback(lambda _: self._free.release())
        try:
            async with asyncio.timeout_at(deadline):
                return await asyncio.shield(done)
        except TimeoutError:
            raise ServiceUnavailable(OVERLOADED, retry_after=1) from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority(niceness: int) -> None:
    """``niceness`` below the thread that starts it (the event loop's), under the SCHED_IDLE
    policy: the thread runs only when a core would otherwise idle, so the kernel preempts it
    at once for any request (a nice value alone still let a hash delay each hop of a read by
    a time slice; under a login flood reads kept 47 % of their throughput instead of 57 %).
    Linux gives each thread its own priority; lowering it needs no privilege."""
    thread = threading.get_native_id()
    try:
        os.setpriority(
            os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
        )
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
    except OSError as exc:  # e.g. a platform without per-thread priorities
        log.warning("password hashing runs at normal priority: %s", exc)
