"""The transactional outbox: an event is a row written in the same transaction as the change
that caused it, and a relay publishes pending rows to JetStream afterwards.

JetStream deduplicates on ``Nats-Msg-Id`` (the event id), and consumers dedupe on it too, so
a relay that crashes between publishing and marking a row only causes a harmless re-publish.
"""

import asyncio
import contextlib
import logging
import math
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, Identity
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.events import Event
from unimatch_shared.messaging import Messaging
from unimatch_shared.metrics import EVENTS_PUBLISHED

log = logging.getLogger(__name__)

BATCH_SIZE = 100
IDLE_POLL_SECONDS = 1.0
RETRY_SECONDS = 2.0


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: UUID = Field(unique=True)
    subject: str
    payload: str
    created_at: datetime
    published_at: datetime | None = None

    @classmethod
    def from_event(cls, event: Event) -> "OutboxMessage":
        return cls(
            event_id=event.event_id,
            subject=event.SUBJECT,
            payload=event.model_dump_json(),
            created_at=event.occurred_at,
        )


class OutboxRelay:
    """Publishes pending outbox rows in order; woken at once after a commit, else polls."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], messaging: Messaging):
        self._sessions = sessions
        self._messaging = messaging
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows went out."""
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(BATCH_SIZE)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                await self._messaging.broker.publish(
                    row.payload.encode(),
                    self._messaging.subject(row.subject),
                    headers={"Nats-Msg-Id": str(row.event_id), "content-type": "application/json"},
                    stream=self._messaging.stream.name,
                    timeout=5,
                )
                row.published_at = datetime.now(UTC)
                session.add(row)
            await session.commit()
        for row in rows:  # counted once marked, so a batch re-sent after a failure counts once
            EVENTS_PUBLISHED.labels(row.subject).inc()
        return len(rows)

    async def backlog(self) -> float:
        """How many rows wait to be published (a partial index holds just those, so this is
        cheap); NaN when the database cannot say."""
        pending = select(func.count()).where(OutboxMessage.published_at.is_(None))
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
