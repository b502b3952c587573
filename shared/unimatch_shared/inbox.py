"""The idempotent-consumer inbox: a consumer records each event id it has applied, in the
same transaction as the effect, so a redelivered event changes nothing the second time."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.events import Event


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


class Consuming(Protocol):
    """What ``applied_once`` needs of a unit of work."""

    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def first_delivery(self, consumer: str, event_id: UUID) -> bool: ...
    async def commit(self) -> None: ...


UoW = TypeVar("UoW", bound=Consuming)
E = TypeVar("E", bound=Event)


def applied_once(
    consumer: str,
) -> Callable[[Callable[[UoW, E], Awaitable[None]]], Callable[[UoW, E], Awaitable[None]]]:
    """A decorator for a use case applying an event: it runs in one transaction of ``uow``
    with the record that ``consumer`` applied the event, committed when it returns; for an
    event applied before it does not run at all."""

    def decorate(apply: Callable[[UoW, E], Awaitable[None]]) -> Callable[[UoW, E], Awaitable[None]]:
        @wraps(apply)
        async def once(uow: UoW, event: E) -> None:
            async with uow:
                if await uow.first_delivery(consumer, event.event_id):
                    await apply(uow, event)
                    await uow.commit()

        return once

    return decorate
