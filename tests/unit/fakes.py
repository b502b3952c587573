"""In-memory stand-ins for the shared plumbing a use case touches: the unit of work's outbox
and inbox, and request-reply (docs/adr/023-unit-of-work-and-repositories.md).

``FakeUnitOfWork`` publishes emitted events and records inbox claims only on ``commit()``,
as the outbox and inbox do.
"""

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel

from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import EVENTS_BY_SUBJECT, EncodedEvent, Event
from unimatch_shared.rpc import Request

Row = TypeVar("Row")


class FakeUnitOfWork:
    """The shared unit of work's behaviour without a database; a service's fake adds its
    repositories. Reuse one across use cases (``async with`` opens a transaction)."""

    def __init__(self) -> None:
        self.locks: list[str] = []  # every lock taken, in order
        self.published: list[Event] = []  # the outbox, as the relay would publish it
        self.commits = 0
        self._applied: set[tuple[str, UUID]] = set()  # the inbox
        self._emitted: list[Event] = []
        self._claimed: set[tuple[str, UUID]] = set()

    async def __aenter__(self) -> Self:
        self._emitted, self._claimed = [], set()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._emitted, self._claimed = [], set()  # not committed: rolled back

    def emit(self, event: Event) -> None:
        self._emitted.append(event)

    async def emit_all(self, events: Iterable[Event | EncodedEvent]) -> None:
        self._emitted += (decoded(event) for event in events)

    async def lock(self, name: str) -> None:
        self.locks.append(name)

    async def first_delivery(self, consumer: str, event_id: UUID) -> bool:
        key = (consumer, event_id)
        if key in self._applied or key in self._claimed:
            return False
        self._claimed.add(key)
        return True

    async def commit(self) -> None:
        self.published += self._emitted
        self._applied |= self._claimed
        self._emitted, self._claimed = [], set()
        self.commits += 1


class FakeMessaging:
    """Answers each request type with the reply (or raises the exception) it was given;
    a request type with none has no responder: ``ServiceUnavailable``, as ``Messaging``."""

    def __init__(self, **replies: BaseModel | Exception) -> None:
        self.replies: dict[str, Any] = replies
        self.sent: list[Request[Any]] = []

    async def request(self, request: Request[Any]) -> Any:
        self.sent.append(request)
        reply = self.replies.get(type(request).__name__)
        if reply is None:
            raise ServiceUnavailable()
        if isinstance(reply, Exception):
            raise reply
        return reply


def decoded(event: Event | EncodedEvent) -> Event:
    """An encoded event as its consumers will read it; it must be a valid event of its
    subject, and byte for byte what the typed model itself would have encoded."""
    if isinstance(event, Event):
        return event
    typed = EVENTS_BY_SUBJECT[event.subject].model_validate_json(event.payload)
    assert typed.encode() == event, f"{event} is not {typed.encode()}"
    return typed


def keep_latest(rows: dict[Any, Row], key: Hashable, row: Row, version: str) -> None:
    """``unimatch_shared.db.save_latest`` in memory: store ``row`` unless the one stored
    under ``key`` is newer by ``version``."""
    stored = rows.get(key)
    newer: datetime | None = None if stored is None else getattr(stored, version)
    if newer is None or newer <= getattr(row, version):
        rows[key] = row
