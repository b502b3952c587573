"""Bot replies and announcements each have their own share of Telegram's 30 messages/s: a
burst of commands does not hold up a round's announcements (docs/adr/006)."""

from notifier_service.domain.texts import HELP
from notifier_service.main import create_app
from tests.conftest import running_app
from tests.integration.notifier.helpers import link_chats, pair_created
from tests.support.helpers import eventually, publish

# Small numbers, so the shares show within seconds: 6 messages/s, 2 of them for replies.
PER_SECOND, REPLIES_PER_SECOND = 6, 2
COMMAND_CHATS = list(range(500, 512))  # 12 people ask /help at once
USERS = list(range(1, 9))  # 4 pairs: 8 announcements


async def test_a_burst_of_commands_leaves_announcements_their_share(
    env, notifier_settings, telegram, nc
):
    settings = notifier_settings.model_copy(
        update={
            "telegram_messages_per_second": PER_SECOND,
            "telegram_replies_per_second": REPLIES_PER_SECOND,
        }
    )
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {u: 100_000 + u for u in USERS})
        await eventually(lambda: telegram.commands)  # the bot is polling
        for chat in COMMAND_CHATS:
            telegram.push_message(chat, "/help")
        await eventually(lambda: telegram.sent)
        # The commands' burst is under way; now a round announces four pairs.
        for a, b in zip(USERS[::2], USERS[1::2], strict=True):
            await publish(nc.jetstream(), env.event_prefix, pair_created(a, (a, "u"), (b, "u")))

        def replied():
            """every /help answered"""
            return len([s for s in telegram.sent if s.chat_id in COMMAND_CHATS]) == 12

        await eventually(replied, timeout=30)
        await eventually(lambda: len(telegram.sent) == 12 + 8)

    replies = [s for s in telegram.sent if s.chat_id in COMMAND_CHATS]
    announcements = [s for s in telegram.sent if s.chat_id not in COMMAND_CHATS]
    assert {s.text for s in replies} == {HELP}
    # The burst was under way first, yet every announcement went out before its last reply:
    # replies kept to their share of the 6/s (first come, first served would have sent all
    # twelve replies, two seconds' worth, before any announcement). The share's arithmetic is
    # checked on a fake clock (tests/unit/notifier/test_notifier_domain.py); receipt times
    # here bunch whenever the machine is busy, so no rate is read off them.
    assert max(s.at for s in announcements) < max(s.at for s in replies)
    # Together within Telegram's limits (the stand-in enforces them): it never said 429.
    assert telegram.too_many_requests == 0
