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


def most_in_one_second(times: list[float]) -> int:
    """The most of ``times`` in any one-second window."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)))


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
    # Replies kept to their share, so the burst could not take the announcements' slots...
    assert most_in_one_second([s.at for s in replies]) <= REPLIES_PER_SECOND
    # ...which went out at theirs (4/s: two seconds for 8) while replies still waited.
    assert max(s.at for s in announcements) < max(s.at for s in replies)
    assert most_in_one_second([s.at for s in announcements]) <= PER_SECOND - REPLIES_PER_SECOND
    assert max(s.at for s in announcements) - min(s.at for s in announcements) < 2.5
    # Together within Telegram's limit: it never had to say 429.
    assert most_in_one_second([s.at for s in telegram.sent]) <= PER_SECOND
    assert telegram.too_many_requests == 0
