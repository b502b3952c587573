"""Two notifier instances on one database (docs/adr/024-several-instances.md): only the
holder of the Telegram lease sends; when its lease session dies mid-burst, it stops at once
(the fence), the other takes over, and every message arrives exactly once."""

import asyncio
from collections import Counter

import psycopg

from notifier_service.main import create_app
from notifier_service.telegram.client import TelegramBot
from notifier_service.telegram.sender import Sender
from tests.conftest import running_app
from tests.integration.notifier.helpers import link_chats, pair_created
from tests.support.helpers import eventually, publish, query


def chat_of(user_id: int) -> int:
    return 200_000 + user_id


async def holders(apps) -> list[bool]:
    return [await app.state.telegram_lease.held() for app in apps]


async def test_lease_holder_losing_its_session_mid_burst_hands_over_without_repeats(
    env, notifier_settings, telegram, nc
):
    users = list(range(1, 81))  # 40 pairs, 80 messages: about three seconds at 30 messages/s
    apps = [create_app(notifier_settings), create_app(notifier_settings)]
    async with running_app(apps[0]), running_app(apps[1]):
        holder = await eventually(lambda: _sole_holder(apps), "one instance takes the lease")
        (standby,) = [app for app in apps if app is not holder]
        await link_chats(env.database_url, {u: chat_of(u) for u in users})
        for a, b in zip(users[::2], users[1::2], strict=True):
            await publish(nc.jetstream(), env.event_prefix, pair_created(a, (a, "A"), (b, "B")))
        await eventually(lambda: len(telegram.sent) >= 20, "the burst is under way")

        # The holder's lease session ends (its connection to PostgreSQL broke), the process
        # lives on: it must stop sending, and the other instance carries on.
        async with await psycopg.AsyncConnection.connect(
            env.database_url, autocommit=True
        ) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND granted AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            )
        assert not await holder.state.telegram_lease.held()
        await eventually(standby.state.telegram_lease.held, "the other instance takes over")
        await eventually(lambda: len(telegram.sent) >= len(users), "every message is sent")
        assert await holders(apps) == [apps[i] is standby for i in range(2)]
    received = Counter(s.chat_id for s in telegram.sent)
    assert received == Counter(chat_of(u) for u in users)


async def _sole_holder(apps):
    """The one instance holding the lease, once exactly one does."""
    held = await holders(apps)
    return apps[held.index(True)] if held.count(True) == 1 else None


async def test_only_the_holder_sends_and_a_closed_fence_sends_nothing(
    env, notifier_settings, telegram, nc
):
    """While another session holds the lease this instance queues but never sends; a sender
    whose fence says the lease is gone leaves every message pending; once the lease is free,
    the instance takes it and sends each message once."""
    users = list(range(101, 111))
    lease_name = f"{env.event_prefix}notifier.telegram"
    async with await psycopg.AsyncConnection.connect(env.database_url, autocommit=True) as other:
        await other.execute("SELECT pg_advisory_lock(hashtext(%s))", (lease_name,))
        app = create_app(notifier_settings)
        async with running_app(app):
            await link_chats(env.database_url, {u: chat_of(u) for u in users})
            for a, b in zip(users[::2], users[1::2], strict=True):
                await publish(nc.jetstream(), env.event_prefix, pair_created(a, (a, "A"), (b, "B")))
            await eventually(lambda: _equals(pending(env), len(users)), "the messages are queued")

            async def closed() -> bool:
                return False

            fenced = TelegramBot(notifier_settings, app.state.runtime, fence=closed)
            sending = asyncio.create_task(Sender(app.state.runtime, fenced, 8).run())
            await asyncio.sleep(2)  # many dispatch rounds of both senders
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            await fenced.close()
            assert telegram.sent == []
            assert await pending(env) == len(users)
            assert not await app.state.telegram_lease.held()

            await other.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lease_name,))
            await eventually(lambda: len(telegram.sent) == len(users), "the holder sends")
            await asyncio.sleep(1.5)  # nothing more arrives
    assert Counter(s.chat_id for s in telegram.sent) == Counter(chat_of(u) for u in users)


async def pending(env) -> int:
    sql = "SELECT count(*) FROM outgoing_message WHERE status = 'pending'"
    return (await query(env.database_url, "notifier", sql))[0][0]


async def _equals(awaitable, expected) -> bool:
    return await awaitable == expected
