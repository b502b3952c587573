"""A lease: one process at a time, among every instance of a service, does some work.

The lease is a PostgreSQL session-level advisory lock held on a connection of its own
(docs/adr/024-several-instances.md). Whoever takes the lock runs the work; the others try
again every ``retry_seconds``. The holder confirms the lock every ``check_seconds`` (a query
on that connection) and stops the work as soon as it cannot: the lock may be gone. When the
holder dies, PostgreSQL ends its session and frees the lock at once (its socket is closed by
the kernel); when the holder's host or network vanishes without a word, TCP keepalives on
both ends end the session within about ten seconds. Either way another instance takes over
at its next try.

``held()`` is a fence for the work itself: asked before each irreversible step (sending a
Telegram message), it confirms the lock on the spot, so a holder that lost the lease between
two checks takes no further step.
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable

import psycopg

log = logging.getLogger(__name__)

# TCP keepalives, on our side and (per session) the server's: a peer that vanished silently is
# noticed after IDLE + INTERVAL * COUNT seconds (9 s).
KEEPALIVE_IDLE_SECONDS = 5
KEEPALIVE_INTERVAL_SECONDS = 2
KEEPALIVE_COUNT = 2
QUERY_TIMEOUT_SECONDS = 3.0


class LeaseLost(Exception):
    """The lease is no longer held: the work must not take its next step."""


class Lease:
    def __init__(
        self,
        database_url: str,
        name: str,
        *,
        check_seconds: float = 2.0,
        retry_seconds: float = 1.0,
        on_change: Callable[[bool], None] | None = None,
    ):
        """``name`` identifies the lease (hashed to the lock's key); ``on_change(held)`` is
        told whenever this process takes or loses it."""
        self._database_url = database_url
        self._name = name
        self._check_seconds = check_seconds
        self._retry_seconds = retry_seconds
        self._on_change = on_change or (lambda held: None)
        self._connection: psycopg.AsyncConnection | None = None
        self._holding = False  # the lock was granted on self._connection
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    async def hold(self, work: Callable[[], Awaitable[None]]) -> None:
        """Until cancelled: wait for the lease, run ``work`` while it is held (cancelled when
        the lease is lost), then wait again. Work that ends or fails gives the lease up."""
        try:
            while True:
                try:
                    acquired = await self._try_acquire()
                except (OSError, psycopg.Error, TimeoutError) as exc:
                    log.warning("lease %s: cannot reach the database (%s)", self._name, exc)
                    acquired = False
                if not acquired:
                    await asyncio.sleep(self._retry_seconds)
                    continue
                log.info("lease %s taken by %s", self._name, self.holder)
                self._holding = True
                self._on_change(True)
                try:
                    await self._run_while_held(work)
                finally:
                    self._holding = False
                    self._on_change(False)
                    await self._close()
                await asyncio.sleep(self._retry_seconds)
        finally:
            await self._close()

    async def held(self) -> bool:
        """Whether this process holds the lease right now (a round trip to the database)."""
        connection = self._connection
        if connection is None or not self._holding:
            return False
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_SECONDS):
                await connection.execute("SELECT 1")
        except (OSError, psycopg.Error, TimeoutError):
            return False
        return True

    async def _try_acquire(self) -> bool:
        if self._connection is None or self._connection.closed:
            await self._close()
            self._connection = await psycopg.AsyncConnection.connect(
                self._database_url,
                autocommit=True,
                connect_timeout=5,
                application_name=f"unimatch lease {self._name} {self.holder}"[:63],
                keepalives=1,
                keepalives_idle=KEEPALIVE_IDLE_SECONDS,
                keepalives_interval=KEEPALIVE_INTERVAL_SECONDS,
                keepalives_count=KEEPALIVE_COUNT,
            )
            for setting, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE_SECONDS),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_SECONDS),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
            ):
                await self._connection.execute(f"SET {setting} = {value}")
        async with asyncio.timeout(QUERY_TIMEOUT_SECONDS):
            cursor = await self._connection.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (self._name,)
            )
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def _run_while_held(self, work: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.ensure_future(work())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=self._check_seconds)
                if not task.done() and not await self.held():
                    log.warning("lease %s lost by %s; stopping its work", self._name, self.holder)
                    break
            else:
                failure = None if task.cancelled() else task.exception()
                if failure is not None:
                    log.error("lease %s: work failed", self._name, exc_info=failure)
                else:
                    log.warning("lease %s: work ended; giving the lease up", self._name)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _close(self) -> None:
        """Closing the session frees the lock (if held) for the others."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
