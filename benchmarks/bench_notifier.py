"""Notifier delivery benchmark: announcements against the stand-in Bot API, which enforces
Telegram's limits (30 messages in any second, one per chat per second, else 429).

    python -m benchmarks.bench_notifier [--messages 10000] [--users 2000]

(from the repo root, with PostgreSQL and NATS at DATABASE_URL / NATS_URL, default local). It
links ``--users`` users to chats, publishes ``pair.created`` events until ``--messages``
announcements are due (each user in ``messages / users`` rounds), and reports messages per
second from the first event published to the last message accepted, the 429s provoked, and
duplicates and losses counted per chat at the stub. At 30/s, 10,000 messages take ~6 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
from collections import Counter
from datetime import UTC, datetime

import nats
import psycopg
from asgi_lifespan import LifespanManager

from notifier_service.main import create_app
from notifier_service.settings import NotifierSettings
from tests.support.telegram_stub import TOKEN, TelegramStub
from unimatch_shared.events import GroupMember, PairCreated
from unimatch_stack.infra import fresh_database

CHAT_BASE = 500_000_000
STALL_SECONDS = 30


def rounds_of_pairs(users: int, rounds: int, seed: int = 1) -> list[list[tuple[int, int]]]:
    rng = random.Random(seed)
    ids = list(range(1, users + 1))
    plan = []
    for _ in range(rounds):
        rng.shuffle(ids)
        plan.append(list(zip(ids[::2], ids[1::2], strict=True)))
    return plan


async def link_users(database_url: str, users: int) -> None:
    async with await psycopg.AsyncConnection.connect(
        database_url, options="-csearch_path=notifier"
    ) as connection:
        async with connection.cursor() as cursor:
            await cursor.executemany(
                "insert into chat_link (user_id, chat_id, linked_at) values (%s, %s, now())",
                [(u, CHAT_BASE + u) for u in range(1, users + 1)],
            )
        await connection.commit()


async def publish_rounds(nats_url: str, prefix: str, plan) -> None:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for round_id, pairs in enumerate(plan, start=1):
        for index, (a, b) in enumerate(pairs):
            event = PairCreated(
                round_id=round_id,
                group_id=round_id * 1_000_000 + index,
                created_at=datetime.now(UTC),
                members=[
                    GroupMember(id=u, first_name=f"U{u}", last_name="", email=f"u{u}@example.com")
                    for u in (a, b)
                ],
                shared_hobbies=["Музыка"],
            )
            headers = {"Nats-Msg-Id": str(event.event_id)}
            await js.publish(
                prefix + event.SUBJECT, event.model_dump_json().encode(), headers=headers
            )
    await client.close()


async def run(messages: int, users: int) -> None:
    rounds = max(1, messages // users)
    database = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    nats_url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    with fresh_database(database, "bench_notifier") as database_url:
        async with TelegramStub() as telegram:
            settings = NotifierSettings(
                database_url=database_url,
                nats_url=nats_url,
                unimatch_event_prefix=f"bench{secrets.token_hex(3)}.",
                telegram_bot_token=TOKEN,
                telegram_api_url=telegram.url,
                log_level="WARNING",
            )
            async with LifespanManager(create_app(settings), startup_timeout=60):
                await link_users(database_url, users)
                plan = rounds_of_pairs(users, rounds)
                expected = rounds * (users // 2 * 2)
                print(f"{expected} announcements: {users} users x {rounds} rounds")
                started = time.monotonic()
                await publish_rounds(nats_url, settings.unimatch_event_prefix, plan)
                print(f"published {expected // 2} events in {time.monotonic() - started:.1f}s")
                await wait_for_delivery(telegram, expected)
                await asyncio.sleep(3)  # any duplicate would arrive now
            report(telegram, started, rounds, users)


async def wait_for_delivery(telegram: TelegramStub, expected: int) -> None:
    seen, last_progress = 0, time.monotonic()
    while len(telegram.sent) < expected:
        await asyncio.sleep(1)
        if len(telegram.sent) > seen:
            seen, last_progress = len(telegram.sent), time.monotonic()
            print(f"  {seen} delivered", end="\r", flush=True)
        elif time.monotonic() - last_progress > STALL_SECONDS:
            print(f"\n  stalled at {seen}")
            return
    print()


def report(telegram: TelegramStub, started: float, rounds: int, users: int) -> None:
    received = Counter(sent.chat_id for sent in telegram.sent)
    want = {CHAT_BASE + u: rounds for u in range(1, users // 2 * 2 + 1)}
    duplicates = sum(max(0, received[chat] - n) for chat, n in want.items())
    losses = sum(max(0, n - received[chat]) for chat, n in want.items())
    elapsed = telegram.sent[-1].at - telegram.sent[0].at if telegram.sent else 0.0
    total = time.monotonic() - started
    print(f"messages accepted:  {len(telegram.sent)}")
    print(f"first to last:      {elapsed:.1f}s  ({(len(telegram.sent) - 1) / elapsed:.2f} msg/s)")
    print(f"publish to last:    {total - 3:.1f}s")
    print(f"429s provoked:      {telegram.too_many_requests}")
    print(f"duplicates:         {duplicates}")
    print(f"losses:             {losses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.users))


if __name__ == "__main__":
    main()
