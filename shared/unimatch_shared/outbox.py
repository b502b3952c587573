"""The transactional outbox: an event is a row written in the same transaction as the change
that caused it, and a relay publishes pending rows to JetStream afterwards.

JetStream deduplicates on ``Nats-Msg-Id`` (the event id), and consumers dedupe on it too, so
a relay that crashes between publishing and marking a row only causes a harmless re-publish.

The relay keeps a whole batch in flight: it writes every row's message, in id order, on one
connection (so the stream stores them in that order), then awaits the batch's acks together
and marks the acknowledged rows. Consumers do not rely on the order (docs/adr/014).

Hand-written on purpose: FastStream publishes, but cannot make an event part of the database
transaction that caused it (docs/adr/025-libraries-where-they-fit.md).
"""

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from nats.js.api import PubAck
from sqlalchemy import BigInteger, Column, Identity, Index, Text, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.db import copy_rows, fetch_rows
from unimatch_shared.events import EncodedEvent, Event
from unimatch_shared.messaging import Messaging
from unimatch_shared.metrics import EVENTS_PUBLISHED

log = logging.getLogger(__name__)

# Rows per relay transaction, all of them in flight at once (below nats-py's 4,000 limit of
# pending async publishes).
BATCH_SIZE = 1000
ACK_TIMEOUT_SECONDS = 5.0
IDLE_POLL_SECONDS = 1.0
RETRY_SECONDS = 2.0
# Plain SQL through psycopg: SQLAlchemy's per-row processing would double the relay's CPU.
PENDING = (
    "SELECT id, event_id, subject, payload FROM outbox_message WHERE published_at IS NULL"
    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)
MARK_PUBLISHED = text("UPDATE outbox_message SET published_at = now() WHERE id = ANY(:ids)")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    # What PENDING reads: the rows not yet published, in id order.
    __table_args__ = (
        Index("outbox_message_pending", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: UUID = Field(unique=True)
    subject: str = Field(max_length=200)
    payload: str = Field(sa_type=Text)
    created_at: datetime
    published_at: datetime | None = None

    @classmethod
    def from_event(cls, event: Event) -> "OutboxMessage":
        event_id, subject, payload, occurred_at = event.encode()
        return cls(event_id=event_id, subject=subject, payload=payload, created_at=occurred_at)


async def write_outbox(session: AsyncSession, events: Iterable[Event | EncodedEvent]) -> None:
    """Many events into the outbox at once (COPY), in order, in the session's transaction;
    as models or already encoded (``Event.encode_unvalidated``)."""
    rows = (e if isinstance(e, EncodedEvent) else e.encode() for e in events)
    await copy_rows(
        session, "outbox_message", ("event_id", "subject", "payload", "created_at"), rows
    )


class OutboxRelay:
    """Publishes pending outbox rows in order; woken at once after a commit, else polls."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], messaging: Messaging):
        self._sessions = sessions
        self._messaging = messaging
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows went out. Raises, after marking the rows
        that did go out, if any publish failed: the rest is re-sent on the next try."""
        async with self._sessions() as session:
            rows = await fetch_rows(session, PENDING, (BATCH_SIZE,))
            if not rows:
                return 0
            outcomes = await self._publish_all(rows)
            sent = [row for row, error in zip(rows, outcomes, strict=True) if error is None]
            if sent:
                # sqlmodel's exec() runs text() as execute() does; its overloads leave it out.
                await session.exec(  # type: ignore[call-overload]
                    MARK_PUBLISHED, params={"ids": [row.id for row in sent]}
                )
            await session.commit()
        # Counted once marked, so a batch re-sent after a failure counts once.
        for subject, count in Counter(row.subject for row in sent).items():
            EVENTS_PUBLISHED.labels(subject).inc(count)
        failed = next((error for error in outcomes if error is not None), None)
        if failed is not None:
            raise failed
        return len(rows)

    async def _publish_all(self, rows: Sequence[Any]) -> list[BaseException | None]:
        """Write every row's message in order, then await all acks; each row's error, if any."""
        js = self._messaging.jetstream()
        acks: list[asyncio.Future[PubAck]] = []
        unsent: BaseException | None = None
        try:
            for row in rows:
                headers = {"Nats-Msg-Id": str(row.event_id), "content-type": "application/json"}
                acks.append(
                    await js.publish_async(
                        self._messaging.subject(row.subject),
                        row.payload.encode(),
                        headers=headers,
                        stream=self._messaging.stream.name,
                    )
                )
        except Exception as exc:  # the connection failed mid-batch: settle what went out
            unsent = exc
        if acks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                    await asyncio.wait(acks)
        for ack in acks:
            ack.cancel()  # an ack that never came: frees its slot among nats-py's pending
        outcomes: list[BaseException | None] = [
            TimeoutError("no ack") if ack.cancelled() else ack.exception() for ack in acks
        ]
        outcomes += [unsent] * (len(rows) - len(acks))
        return outcomes

    async def backlog(self) -> float:
        """How many rows wait to be published (a partial index holds just those, so this is
        cheap); NaN when the database cannot say."""
        pending = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
        try:
            async with self._sessions() as session:
                return (await asyncio.wait_for(session.exec(pending), 2)).one()
        except Exception as exc:
            log.warning("outbox backlog unknown: %s", exc.__class__.__name__)
            return math.nan

    async def _run(self) -> None:
        while True:
            # Cleared before publishing, so a commit's notify() during a publish is not lost.
            self._wake.clear()
            try:
                while await self.publish_pending() == BATCH_SIZE:
                    pass
            except Exception:
                log.warning("outbox relay: publishing failed, retrying", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that arrives as the event fires, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_POLL_SECONDS):
                    await self._wake.wait()
