"""Retention: keep every service's ``outbox_message`` and ``processed_event`` bounded.

- A **published outbox row** is never read again by the relay (JetStream holds the message);
  it is kept ``UNIMATCH_OUTBOX_RETENTION_DAYS`` (7) for inspection and for re-publishing
  after the loss of JetStream's store (README, Backups), then deleted. A pending row is
  never deleted, however old.
- A **processed_event row** is what makes a second delivery of an event a no-op, so it must
  outlive every way the event can reach the consumer again: a redelivery of a message not
  acked (possible while the message is in the stream, however long a failure lasts), a
  relay's re-publish after JetStream's 24-hour duplicate window, a dead letter replayed
  (kept 30 days), a durable consumer re-created at the start of the stream (README,
  Backups), an outbox re-publish after losing JetStream (rows up to the outbox's retention
  old). The stream keeps an event ``EVENT_STREAM_MAX_AGE_DAYS`` (90), which bounds them all,
  so ``UNIMATCH_INBOX_RETENTION_DAYS`` defaults to it and may not be lower (nor lower than
  the outbox's retention); docs/adr/007-events-outbox-and-consumers.md.

Every instance and worker process runs the job every ``UNIMATCH_RETENTION_INTERVAL_SECONDS``;
an advisory lock lets one at a time prune a schema, the others skip. Ages are measured on
the database's clock, and rows go in batches, each its own short transaction.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
# One lock per schema (the services share a database): each service prunes its own tables.
LOCK_KEY = "hashtext('unimatch.retention.' || current_schema())"
TRY_LOCK = text(f"SELECT pg_try_advisory_lock({LOCK_KEY})")
UNLOCK = text(f"SELECT pg_advisory_unlock({LOCK_KEY})")
PRUNE_OUTBOX = text(
    "DELETE FROM outbox_message WHERE id IN (SELECT id FROM outbox_message"
    " WHERE published_at < now() - :age LIMIT :batch)"
)
PRUNE_INBOX = text(
    "DELETE FROM processed_event WHERE ctid IN (SELECT ctid FROM processed_event"
    " WHERE processed_at < now() - :age LIMIT :batch)"
)


@dataclass(frozen=True)
class Pruned:
    outbox: int = 0
    inbox: int = 0


async def prune(
    engine: AsyncEngine,
    outbox_age: timedelta,
    inbox_age: timedelta,
    batch_size: int = BATCH_SIZE,
) -> Pruned | None:
    """Delete published outbox rows older than ``outbox_age`` and inbox rows older than
    ``inbox_age``; None if another process is pruning this schema right now."""
    async with engine.connect() as connection:
        # A session-level lock, held on this one connection across the batches' transactions.
        held = await connection.execute(TRY_LOCK)
        await connection.commit()
        if not held.scalar_one():
            return None
        try:
            outbox = await _in_batches(connection, PRUNE_OUTBOX, outbox_age, batch_size)
            inbox = await _in_batches(connection, PRUNE_INBOX, inbox_age, batch_size)
        finally:
            await connection.rollback()
            await connection.execute(UNLOCK)
            await connection.commit()
    return Pruned(outbox, inbox)


async def _in_batches(
    connection: AsyncConnection, statement: TextClause, age: timedelta, batch_size: int
) -> int:
    deleted = 0
    while True:
        result = await connection.execute(statement, {"age": age, "batch": batch_size})
        await connection.commit()
        deleted += result.rowcount
        if result.rowcount < batch_size:
            return deleted


def retention_job(
    engine: AsyncEngine,
    outbox_age: timedelta,
    inbox_age: timedelta,
    interval_seconds: float,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop to hand ``runtime.run_in_background``: prune at start, then every interval."""

    async def run() -> None:
        while True:
            try:
                pruned = await prune(engine, outbox_age, inbox_age)
            except Exception as exc:
                log.warning("retention: pruning failed (%s), retrying", exc.__class__.__name__)
            else:
                if pruned and (pruned.outbox or pruned.inbox):
                    log.info(
                        "retention: deleted %d published outbox rows, %d inbox rows",
                        pruned.outbox,
                        pruned.inbox,
                    )
            await asyncio.sleep(interval_seconds)

    return run
