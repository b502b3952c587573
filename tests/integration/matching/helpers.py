"""Helpers for the matching service's integration tests: its database, NATS, fake auth."""

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta

import psycopg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from unimatch_shared.events import Hobby, PairCreated, ProfileChanged
from unimatch_shared.rpc import VerifiedToken
from unimatch_shared.runtime import ServiceRuntime

STAFF_TOKEN = "5" * 40
USER_TOKEN = "a" * 40
HOBBIES = {1: "Программирование", 2: "Спорт", 3: "Рисование", 4: "Литература", 5: "Музыка"}
HOBBIES.update({6: "Шахматы", 7: "Кино", 8: "Танцы", 9: "Походы"})


class FakeVerifier:
    """Stands in for the auth service: one staff token, one ordinary user's."""

    async def verify(self, token: str) -> VerifiedToken:
        known = {STAFF_TOKEN: VerifiedToken(user_id=1000, is_staff=True)}
        known[USER_TOKEN] = VerifiedToken(user_id=1001)
        return known.get(token, VerifiedToken())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def create_database(server_url: str) -> str:
    """A fresh, empty database on the same server; returns its URL."""
    name = f"matching_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, url: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def query(database_url: str, sql: str, *params) -> list[tuple]:
    """Rows from the matching schema (async, so the app in this loop keeps running)."""
    async with await psycopg.AsyncConnection.connect(
        database_url, options="-csearch_path=matching", autocommit=True
    ) as connection:
        cursor = await connection.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []


async def eventually(check, timeout: float = 20.0):
    """Await ``check()`` until it returns something truthy; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {check.__doc__}")
        await asyncio.sleep(0.05)


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


async def publish(js: JetStreamContext, prefix: str, event, msg_id: str | None = None) -> None:
    """Publish as the profile service's outbox would; ``msg_id`` overrides JetStream's
    dedup key, to simulate a redelivery the stream itself would not drop."""
    await js.publish(
        prefix + event.SUBJECT,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": msg_id or str(event.event_id)},
    )


async def wait_for_participants(database_url: str, count: int) -> None:
    async def applied():
        """all ProfileChanged events applied"""
        rows = await query(database_url, "SELECT count(*) FROM processed_event")
        return rows[0][0] >= count

    await eventually(applied)


async def published_pairs(
    js: JetStreamContext, runtime: ServiceRuntime, database_url: str
) -> list[PairCreated]:
    """Every ``pair.created`` in the stream, once the outbox has sent everything."""

    async def drained():
        """the outbox is empty"""
        rows = await query(
            database_url, "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
        )
        return rows[0][0] == 0

    await eventually(drained)
    stream = runtime.messaging.stream.name
    subject = runtime.messaging.subject(PairCreated.SUBJECT)
    found, seq = [], 1
    while True:
        try:
            message = await js.get_msg(stream, seq, subject=subject, next=True)
        except NotFoundError:
            return found
        found.append(PairCreated.model_validate_json(message.data))
        seq = message.seq + 1
