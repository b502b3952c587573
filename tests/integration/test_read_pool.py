"""The read pool after its database dropped every connection (a restart, a failover): one
request fails, and the pool's other idle connections, dead too, are dropped before they fail
requests of their own (unimatch_shared.db.ReadPool)."""

import asyncio

import psycopg

from tests.support.helpers import eventually
from unimatch_shared.db import make_read_pool
from unimatch_shared.settings import ServiceSettings

CONNECTIONS = 4


async def backend_pids(pool) -> list[int]:
    """Hold CONNECTIONS connections at once, so the pool has that many idle afterwards."""
    release = asyncio.Event()
    pids: list[int] = []

    async def hold():
        async with pool.connection() as connection:
            pids.append((await (await connection.execute("SELECT pg_backend_pid()")).fetchone())[0])
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(CONNECTIONS)]
    await eventually(lambda: len(pids) == CONNECTIONS, "every connection checked out")
    release.set()
    await asyncio.gather(*holders)
    return pids


async def answers(pool) -> bool:
    try:
        async with pool.connection() as connection:
            await connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


async def test_after_every_connection_was_dropped_only_one_request_fails(service_settings):
    settings = ServiceSettings(database_url=service_settings["database_url"])
    pool = make_read_pool(settings, schema="public")
    await pool.open(wait=True)
    try:
        pids = await backend_pids(pool)
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,)
            )

        assert not await answers(pool)  # the first one finds out
        # The one that failed went back broken (and was dropped); the check finds the rest.
        await eventually(
            lambda: pool.get_stats().get("connections_lost", 0) >= CONNECTIONS - 1,
            "the pool dropping its dead idle connections",
            timeout=10,
        )
        results = [await answers(pool) for _ in range(CONNECTIONS)]
        assert results == [True] * CONNECTIONS
    finally:
        await pool.close()
