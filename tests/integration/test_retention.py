"""Retention: published outbox rows and inbox rows past their age are deleted by every
service's background job; pending outbox rows and younger rows stay (shared/retention.py)."""

import asyncio
import uuid
from datetime import timedelta

import psycopg
import pytest

from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from tests.conftest import running_app
from tests.support.helpers import eventually, query
from unimatch_shared.db import run_migrations
from unimatch_shared.retention import Pruned, prune


async def add_outbox_row(db: str, published_days_ago: float | None, created_days_ago: float):
    await query(
        db,
        "matching",
        "INSERT INTO outbox_message (event_id, subject, payload, created_at, published_at)"
        " VALUES (%s, 'test.event', '{}', now() - make_interval(secs => %s),"
        " now() - make_interval(secs => %s))",
        uuid.uuid4(),
        created_days_ago * 86400,
        None if published_days_ago is None else published_days_ago * 86400,
    )


async def add_inbox_row(db: str, days_ago: float) -> None:
    await query(
        db,
        "matching",
        "INSERT INTO processed_event (consumer, event_id, processed_at)"
        " VALUES ('test', %s, now() - make_interval(secs => %s))",
        uuid.uuid4(),
        days_ago * 86400,
    )


async def ages(db: str) -> tuple[list, list]:
    """(outbox rows as (created, published) days ago, inbox rows as days ago), rounded."""
    outbox = await query(
        db,
        "matching",
        "SELECT round(extract(epoch FROM now() - created_at) / 86400),"
        " round(extract(epoch FROM now() - published_at) / 86400)"
        " FROM outbox_message WHERE subject = 'test.event' ORDER BY 1",
    )
    inbox = await query(
        db,
        "matching",
        "SELECT round(extract(epoch FROM now() - processed_at) / 86400)"
        " FROM processed_event WHERE consumer = 'test' ORDER BY 1",
    )
    return [tuple(int(v) if v is not None else None for v in row) for row in outbox], [
        int(row[0]) for row in inbox
    ]


async def add_rows(db: str) -> None:
    await add_outbox_row(db, published_days_ago=8, created_days_ago=8)  # goes
    await add_outbox_row(db, published_days_ago=6, created_days_ago=6)
    await add_outbox_row(db, published_days_ago=None, created_days_ago=100)  # pending: stays
    await add_inbox_row(db, 91)  # goes
    await add_inbox_row(db, 89)


ALL = ([(6, 6), (8, 8), (100, None)], [89, 91])
KEPT = ([(6, 6), (100, None)], [89])
WEEK, INBOX_AGE = timedelta(days=7), timedelta(days=90)


@pytest.fixture
async def engine(service_settings):
    """The matching schema, migrated, and an engine on it; no service running (so no
    background job prunes while a test looks)."""
    settings = MatchingSettings(**service_settings)
    runtime = create_app(settings).state.runtime
    await asyncio.to_thread(run_migrations, settings, "matching", runtime.migrations_dir)
    yield runtime.engine
    await runtime.engine.dispose()


async def test_every_service_prunes_its_tables_in_the_background(service_settings):
    settings = MatchingSettings(
        **service_settings,
        matching_scheduler_interval_seconds=3600,
        unimatch_retention_interval_seconds=0.2,
    )
    db = settings.database_url
    async with running_app(create_app(settings)):
        await add_rows(db)

        async def pruned():
            """the job deleted the published outbox row and the inbox row past their age"""
            return await ages(db) == KEPT

        await eventually(pruned, timeout=10)


async def test_pruning_goes_in_batches_and_counts_what_it_deleted(engine, service_settings):
    db = service_settings["database_url"]
    for _ in range(5):
        await add_rows(db)
    assert await prune(engine, WEEK, INBOX_AGE, batch_size=2) == Pruned(outbox=5, inbox=5)
    assert await ages(db) == ([(6, 6)] * 5 + [(100, None)] * 5, [89] * 5)


async def test_one_process_at_a_time_prunes_a_schema(engine, service_settings):
    db = service_settings["database_url"]
    await add_rows(db)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as other:
        await other.execute("SELECT pg_advisory_lock(hashtext('unimatch.retention.matching'))")
        assert await prune(engine, WEEK, INBOX_AGE) is None
        assert await ages(db) == ALL
    # The lock went with the other connection: its server process lets go as it exits, a
    # moment after the client has closed, so the next try may still find it held.
    pruned = await eventually(lambda: prune(engine, WEEK, INBOX_AGE), "the lock let go")
    assert pruned == Pruned(outbox=1, inbox=1)
    assert await ages(db) == KEPT
