"""Announcements under Telegram's limits and failures: 429, 403, a restart mid-burst, no token."""

import asyncio
import logging
from collections import Counter

from notifier_service.main import create_app
from notifier_service.metrics import ANNOUNCEMENTS_SKIPPED_UNLINKED
from tests.conftest import running_app
from tests.integration.notifier.helpers import link_chats, pair_created
from tests.support.helpers import eventually, publish, query


def chat_of(user_id: int) -> int:
    return 100_000 + user_id


async def announce_pairs(env, nc, user_ids: list[int]) -> None:
    """Link every user to a chat of their own and announce them in pairs."""
    await link_chats(env.database_url, {u: chat_of(u) for u in user_ids})
    for a, b in zip(user_ids[::2], user_ids[1::2], strict=True):
        await publish(nc.jetstream(), env.event_prefix, pair_created(a, (a, f"u{a}"), (b, f"u{b}")))


async def test_429_is_waited_out_and_retried(env, notifier_settings, telegram, nc):
    telegram.force_429 = 3
    async with running_app(create_app(notifier_settings)):
        await announce_pairs(env, nc, [1, 2, 3, 4])
        await eventually(lambda: len(telegram.sent) == 4)
    assert telegram.too_many_requests >= 3
    assert sorted(s.chat_id for s in telegram.sent) == [chat_of(u) for u in (1, 2, 3, 4)]


async def test_403_unlinks_the_chat_and_stops_messaging_it(env, notifier_settings, telegram, nc):
    telegram.blocked.add(chat_of(11))
    async with running_app(create_app(notifier_settings)):
        await announce_pairs(env, nc, [11, 12])
        await eventually(lambda: telegram.messages_to(chat_of(12)))

        async def unlinked():
            sql = "select payload from outbox_message where subject = 'telegram.unlinked'"
            return await query(env.database_url, "notifier", sql)

        [(payload,)] = await eventually(unlinked)
        assert f'"chat_id":"{chat_of(11)}"' in payload
        assert (
            await query(env.database_url, "notifier", "select 1 from chat_link where user_id = 11")
            == []
        )
        # The next match of the blocked user queues nothing for the chat.
        await publish(nc.jetstream(), env.event_prefix, pair_created(99, (11, "u11"), (12, "u12")))
        await eventually(lambda: len(telegram.messages_to(chat_of(12))) == 2)
    statuses = await query(
        env.database_url, "notifier", "select chat_id, status from outgoing_message"
    )
    assert sorted(statuses) == [
        (chat_of(11), "blocked"),
        (chat_of(12), "sent"),
        (chat_of(12), "sent"),
    ]
    assert telegram.messages_to(chat_of(11)) == []


async def test_restart_mid_burst_delivers_every_message_exactly_once(
    env, notifier_settings, telegram, nc
):
    users = list(range(21, 101))  # 80 users, 40 pairs: about three seconds at 30 messages/s
    async with running_app(create_app(notifier_settings)):
        await announce_pairs(env, nc, users)
        await eventually(lambda: len(telegram.sent) >= 20)
    stopped_at = len(telegram.sent)
    assert stopped_at < len(users), "the burst finished before the stop; make it longer"

    async with running_app(create_app(notifier_settings)):
        await eventually(lambda: len(telegram.sent) >= len(users))
        await asyncio.sleep(1.5)  # nothing more arrives
    received = Counter(s.chat_id for s in telegram.sent)
    assert received == Counter(chat_of(u) for u in users)
    assert await query(
        env.database_url, "notifier", "select distinct status from outgoing_message"
    ) == [("sent",)]


async def test_without_a_token_messages_are_logged_not_sent(env, notifier_settings, telegram, nc):
    settings = notifier_settings.model_copy(update={"telegram_bot_token": None})
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    sender_log = logging.getLogger("notifier_service.telegram.sender")
    sender_log.addHandler(handler)
    async with running_app(create_app(settings)) as notifier:
        await announce_pairs(env, nc, [31, 32])

        async def logged():
            rows = await query(env.database_url, "notifier", "select status from outgoing_message")
            # Both settled (a row is queued as pending first).
            return rows if len(rows) == 2 and ("pending",) not in rows else None

        assert await eventually(logged) == [("logged",), ("logged",)]
        response = await notifier.get("/users/api/tg-link")
        assert response.status_code == 401
    sender_log.removeHandler(handler)
    assert telegram.sent == []
    # Logged by id: neither the partners' names nor their emails reach the log.
    assert len([line for line in lines if "not sent" in line]) == 2
    assert not [line for line in lines if "u31" in line or "u32" in line], lines


async def test_unlinked_members_are_skipped_and_counted(env, notifier_settings, telegram, nc):
    before = ANNOUNCEMENTS_SKIPPED_UNLINKED._value.get()
    async with running_app(create_app(notifier_settings)):
        await link_chats(env.database_url, {21: chat_of(21)})
        await publish(nc.jetstream(), env.event_prefix, pair_created(90, (21, "u21"), (22, "u22")))
        await eventually(lambda: telegram.messages_to(chat_of(21)))
    assert telegram.messages_to(chat_of(22)) == []
    assert ANNOUNCEMENTS_SKIPPED_UNLINKED._value.get() == before + 1
