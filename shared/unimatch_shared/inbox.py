"""The idempotent-consumer inbox: a consumer records each event id it has applied, in the
same transaction as the effect, so a redelivered event changes nothing the second time."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_event"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: UUID = Field(primary_key=True)
    processed_at: datetime


async def first_delivery(session: AsyncSession, consumer: str, event_id: UUID) -> bool:
    """Claim the event for this consumer; False means it was applied before."""
    result = await session.exec(
        insert(ProcessedEvent)
        .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(col(ProcessedEvent.event_id))
    )
    return result.first() is not None
