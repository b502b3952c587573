"""Helpers for the matching service's integration tests: its database, NATS, fake auth."""

from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from tests.support.helpers import eventually, publish, query
from unimatch_shared.events import Event, Hobby, PairCreated, ProfileChanged
from unimatch_shared.runtime import ServiceRuntime
from unimatch_shared.sessions import Session

STAFF_TOKEN = "5" * 40
USER_TOKEN = "a" * 40
HOBBIES = {1: "Программирование", 2: "Спорт", 3: "Рисование", 4: "Литература", 5: "Музыка"}
HOBBIES.update({6: "Шахматы", 7: "Кино", 8: "Танцы", 9: "Походы"})
E = TypeVar("E", bound=Event)


class FakeVerifier:
    """Stands in for the auth service: one staff token, one ordinary user's."""

    async def verify(self, token: str) -> Session | None:
        known = {STAFF_TOKEN: Session(user_id=1000, is_staff=True)}
        known[USER_TOKEN] = Session(user_id=1001)
        return known.get(token)


def profile(user_id: int, *hobbies: int, **fields) -> ProfileChanged:
    return ProfileChanged(
        user_id=user_id,
        email=f"user{user_id}@example.com",
        first_name=f"Имя{user_id}",
        last_name=f"Фамилия{user_id}",
        hobbies=[Hobby(id=h, name=HOBBIES[h]) for h in hobbies],
        **fields,
    )


def yesterday_in_yekaterinburg() -> date:
    return (datetime.now(UTC) + timedelta(hours=5)).date() - timedelta(days=1)


async def wait_for_participants(database_url: str, count: int) -> None:
    async def applied():
        """all ProfileChanged events applied"""
        rows = await query(database_url, "matching", "SELECT count(*) FROM processed_event")
        return rows[0][0] >= count

    await eventually(applied)


async def participants_sharing_one_hobby(
    js: JetStreamContext, settings: MatchingSettings, users: int
) -> None:
    """Users 1 to ``users`` join with hobby 1 only; returns once matching has applied them."""
    for user_id in range(1, users + 1):
        await publish(js, settings.unimatch_event_prefix, profile(user_id, 1))
    await wait_for_participants(settings.database_url, users)


async def published_pairs(
    js: JetStreamContext, runtime: ServiceRuntime, database_url: str
) -> list[PairCreated]:
    """Every ``pair.created`` in the stream, once the outbox has sent everything."""

    async def drained():
        """the outbox is empty"""
        rows = await query(
            database_url,
            "matching",
            "SELECT count(*) FROM outbox_message WHERE published_at IS NULL",
        )
        return rows[0][0] == 0

    await eventually(drained)
    return await events_in_stream(js, runtime, PairCreated)


async def events_in_stream(
    js: JetStreamContext, runtime: ServiceRuntime, event_type: type[E]
) -> list[E]:
    """Every event of ``event_type`` in the service's stream, oldest first."""
    stream = runtime.messaging.stream.name
    subject = runtime.messaging.subject(event_type.SUBJECT)
    found, seq = [], 1
    while True:
        try:
            message = await js.get_msg(stream, seq, subject=subject, next=True)
        except NotFoundError:
            return found
        found.append(event_type.model_validate_json(message.data))
        seq = message.seq + 1


def started(settings: MatchingSettings) -> FastAPI:
    """Matching's app with the stand-in auth."""
    app = create_app(settings)
    app.state.token_verifier = FakeVerifier()
    return app


def groups_of(events: list[PairCreated]) -> set[frozenset[int]]:
    return {frozenset(m.id for m in e.members) for e in events}
