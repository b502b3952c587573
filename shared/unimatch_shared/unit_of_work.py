"""Unit of work: one database transaction, with the events it emits written to the outbox.

Services use it as ``async with runtime.unit_of_work() as uow: ...; await uow.commit()``;
leaving the block without ``commit()`` rolls everything back, events included. A service's
subclass opens its repositories on the session in ``open_repositories`` (``uow.profiles``).
"""

from collections.abc import Iterable
from typing import Self
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.events import EncodedEvent, Event
from unimatch_shared.inbox import first_delivery
from unimatch_shared.outbox import OutboxMessage, OutboxRelay, write_outbox


class UnitOfWork:
    session: AsyncSession

    def __init__(self, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay):
        self._sessions = sessions
        self._relay = relay

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.open_repositories()
        return self

    def open_repositories(self) -> None:
        """Subclasses: bind the service's repositories to ``self.session``."""

    async def __aexit__(self, *exc_info: object) -> None:
        # close() rolls back whatever was not committed, and (unlike rollback()) leaves loaded
        # objects readable after the block.
        await self.session.close()

    def emit(self, event: Event) -> None:
        """Publish ``event`` if, and only if, this transaction commits."""
        self.session.add(OutboxMessage.from_event(event))

    async def emit_all(self, events: Iterable[Event | EncodedEvent]) -> None:
        """``emit`` for many events (a round's ``pair.created``): written at once with COPY,
        in order, rather than as one ORM object each; already encoded, if made in bulk."""
        await write_outbox(self.session, events)

    async def first_delivery(self, consumer: str, event_id: UUID) -> bool:
        """For consumers: False if ``consumer`` already applied this event."""
        return await first_delivery(self.session, consumer, event_id)

    async def lock(self, name: str) -> None:
        """Wait until no other transaction holds the lock ``name``, then hold it until this one
        ends: for work every instance does at once, such as a start-up bootstrap, or a
        check-then-record that must not interleave (login throttling)."""
        connection = await self.session.connection()  # (sqlmodel's session warns on text)
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
        )

    async def commit(self) -> None:
        await self.session.commit()
        self._relay.notify()
