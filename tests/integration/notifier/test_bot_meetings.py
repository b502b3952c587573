"""After a match, in the bot: the "did you meet?" follow-up and its answers, the block button,
a round that left someone out, and /leave (auth stood in for by a responder on
``rpc.auth.delete-account`` that publishes ``account.deleted`` as auth does)."""

import asyncio
import json
from collections import Counter
from datetime import timedelta

import pytest

from notifier_service import bot_service, service
from notifier_service.main import create_app
from tests.conftest import running_app
from tests.integration.notifier.bot_chat import BotChat, collect
from tests.integration.notifier.helpers import link_chats, pair_created
from tests.support.helpers import eventually, publish, query, race
from unimatch_shared.events import AccountDeleted, MeetingFeedback, PartnerBlocked, RoundSkipped
from unimatch_shared.rpc import DeleteAccount

ASKED = "Вы встретились"
HOUR = timedelta(hours=1)
# A duplicate would have arrived within this (the sender and the scheduler poll faster).
QUIET_SECONDS = 1.0


@pytest.fixture
def settings(notifier_settings):
    return notifier_settings.model_copy(
        update={"follow_up_delay_seconds": 0, "follow_up_poll_seconds": 0.1}
    )


def asked(chat: BotChat):
    return [m for m in chat.messages() if ASKED in m.text]


async def test_follow_up_reaches_each_member_once_and_answers_are_published(
    env, settings, telegram, nc
):
    feedback: list[dict] = []
    await nc.subscribe(env.event_prefix + MeetingFeedback.SUBJECT, cb=collect(feedback))
    js = nc.jetstream()
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {41: 9201, 42: 9202})  # 43 has no Telegram
        event = pair_created(51, (41, "Ира"), (42, "Кир"), (43, "Лев"))
        await publish(js, env.event_prefix, event)
        await publish(js, env.event_prefix, event, msg_id="redelivered")
        ira, kir = BotChat(telegram, 9201, "Ира"), BotChat(telegram, 9202, "Кир")
        await eventually(lambda: asked(ira) and asked(kir), "both linked members asked")
        await asyncio.sleep(QUIET_SECONDS)
        assert len(asked(ira)) == 1 and len(asked(kir)) == 1
        statuses = await query(
            env.database_url, "notifier", "select user_id, status from follow_up order by user_id"
        )
        assert statuses == [(41, "asked"), (42, "asked"), (43, "skipped")]

        question = asked(ira)[0]
        assert "Кир Тестов" in question.text and "Лев Тестов" in question.text
        await ira.press(question, "Встретились")
        assert "Оцените" in question.text
        five = question.buttons()["5"]
        presses = [telegram.push_press(ira.chat_id, question, five) for _ in range(2)]
        await eventually(lambda: set(presses) <= set(telegram.callback_answers))
        assert "пару слов" in question.text
        assert "не больше 1000" in (await ira.say("к" * 1001)).text
        assert "управляющие" in (await ira.say("бип\x07")).text
        thanks = await ira.say("Отлично! <b>кофе</b>")
        assert "Спасибо" in thanks.text

        theirs = asked(kir)[0]
        await kir.press(theirs, "Не получится")
        await kir.press_data(theirs, "fb:51:no")  # the same answer again
        assert "недоступна" in await kir.press_data(theirs, "fb:999:yes")  # not their group
        assert "устарела" in await kir.press_data(theirs, "fr:51:r:9")

        await eventually(lambda: len(feedback) == 4, "four answers published")
        await asyncio.sleep(QUIET_SECONDS)
        answers = [
            (f["user_id"], f["group_id"], f["round_id"], f["met"], f["rating"], f["comment"])
            for f in feedback
        ]
        assert Counter(answers) == Counter(
            [
                (41, 51, 1, "yes", None, ""),
                (41, 51, 1, "yes", 5, ""),
                (41, 51, 1, "yes", 5, "Отлично! <b>кофе</b>"),
                (42, 51, 1, "no", None, ""),
            ]
        )

        # A newer match: the old question's buttons answer politely and publish nothing.
        await publish(js, env.event_prefix, pair_created(52, (42, "Кир"), (44, "Мия")))
        await eventually(lambda: [m for m in asked(kir) if m is not theirs])
        # (as an old question's button would, one left unanswered in the chat)
        assert "прошлой встрече" in await kir.press_data(theirs, "fb:51:notyet")
        await asyncio.sleep(QUIET_SECONDS)
        assert len(feedback) == 4


async def test_block_button_publishes_once_and_only_for_ones_own_partner(
    env, settings, telegram, nc
):
    blocks: list[dict] = []
    await nc.subscribe(env.event_prefix + PartnerBlocked.SUBJECT, cb=collect(blocks))
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {61: 9301, 62: 9302})
        await publish(nc.jetstream(), env.event_prefix, pair_created(71, (61, "Юля"), (62, "Яша")))
        yul, yasha = BotChat(telegram, 9301, "Юля"), BotChat(telegram, 9302, "Яша")
        await eventually(lambda: any("новая пара" in m.text for m in yul.messages()))
        announcement = next(m for m in yul.messages() if "новая пара" in m.text)
        block = announcement.buttons()["🚫 Больше не подбирать: Яша Тестов"]
        presses = [telegram.push_press(yul.chat_id, announcement, block) for _ in range(2)]
        await eventually(lambda: set(presses) <= set(telegram.callback_answers))
        for forged in ("bl:71:u:999", "bl:999:u:62", "bl:71:u:61", "bl:71:x:62"):
            assert "недоступна" in await yul.press_data(announcement, forged)
        await eventually(lambda: blocks)
        await asyncio.sleep(QUIET_SECONDS)
        assert [(b["user_id"], b["blocked_user_id"]) for b in blocks] == [(61, 62)]
        assert "новая пара" in announcement.text  # the announcement stays as it was
        assert all("Больше не" not in m.text for m in yasha.messages())  # never told


async def test_a_member_left_out_of_a_round_is_told_once(env, settings, telegram, nc):
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {95: 9501})
        skipped = RoundSkipped(round_id=3, user_id=95)
        await publish(nc.jetstream(), env.event_prefix, skipped)
        await publish(nc.jetstream(), env.event_prefix, skipped, msg_id="redelivered")
        await publish(nc.jetstream(), env.event_prefix, RoundSkipped(round_id=3, user_id=96))
        await eventually(lambda: telegram.messages_to(9501))
        await asyncio.sleep(QUIET_SECONDS)
        [told] = telegram.messages_to(9501)
        assert "пару подобрать не получилось" in told


async def test_leave_deletes_the_account_after_a_confirmation(env, settings, telegram, nc):
    js = nc.jetstream()
    deleted: list[int] = []

    async def auth_deletes(message) -> None:  # as auth does: reply, account.deleted
        user_id = json.loads(message.data)["user_id"]
        deleted.append(user_id)
        await message.respond(json.dumps({"deleted": True}).encode())
        await publish(js, env.event_prefix, AccountDeleted(user_id=user_id))

    await nc.subscribe(env.event_prefix + DeleteAccount.SUBJECT, cb=auth_deletes)
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {81: 9401, 82: 9402})
        await publish(js, env.event_prefix, pair_created(91, (81, "Оля"), (82, "Пётр")))
        olya, petr = BotChat(telegram, 9401, "Оля"), BotChat(telegram, 9402, "Пётр")
        await eventually(lambda: asked(olya) and asked(petr))

        question = await olya.say("/leave")
        assert "Удалить аккаунт UniMatch?" in question.text
        await olya.press(question, "Нет")
        assert "остаётся" in question.text and deleted == []
        question = await olya.say("/leave")
        confirm = question.buttons()["Да, удалить"]
        presses = [telegram.push_press(olya.chat_id, question, confirm) for _ in range(2)]
        await eventually(lambda: set(presses) <= set(telegram.callback_answers))
        assert "Аккаунт удалён" in question.text
        assert deleted == [81]  # the second tap found no account in this chat

        async def forgotten():
            rows = await query(
                env.database_url,
                "notifier",
                "select (select count(*) from chat_link where user_id = 81)"
                " + (select count(*) from follow_up where user_id = 81)"
                " + (select count(*) from pair_view where user_id = 81)",
            )
            return rows == [(0,)]

        await eventually(forgotten, "everything of user 81 gone")
        assert "Присоединиться" in (await olya.say("/start")).text
        history = await petr.say("/history")
        assert "удалённый пользователь" in history.text and "Оля" not in history.text
        # Petr's own answer about that meeting still counts.
        question = asked(petr)[0]
        await petr.press(question, "Не получится")
        assert "Спасибо" in question.text


async def test_a_member_who_answered_on_the_web_is_not_asked(env, notifier_settings, telegram, nc):
    settings = notifier_settings.model_copy(
        update={"follow_up_delay_seconds": 2, "follow_up_poll_seconds": 0.1}
    )
    js = nc.jetstream()
    async with running_app(create_app(settings)):
        await link_chats(env.database_url, {61: 9301, 62: 9302})
        await publish(js, env.event_prefix, pair_created(71, (61, "Ося"), (62, "Пая")))
        # Before the follow-up is due, 61 answers on the web (profile publishes the answer).
        await publish(
            js, env.event_prefix, MeetingFeedback(user_id=61, round_id=1, group_id=71, met="yes")
        )
        pay = BotChat(telegram, 9302, "Пая")
        await eventually(lambda: asked(pay), "the member who did not answer is asked")
        await asyncio.sleep(QUIET_SECONDS)
        assert not asked(BotChat(telegram, 9301, "Ося"))
        statuses = await query(
            env.database_url, "notifier", "select user_id, status from follow_up order by user_id"
        )
        assert statuses == [(61, "answered"), (62, "asked")]


async def test_a_web_answer_racing_the_match_still_counts(env, settings):
    """The answer's transaction runs while the match's has just written its scheduled
    follow-ups and not committed yet (both events are consumed at once): the answer waits for
    the match and then marks its row answered, rather than finding no row and losing."""
    app = create_app(settings)
    async with running_app(app):
        match = pair_created(91, (81, "Ося"), (82, "Пая"))
        answer = MeetingFeedback(user_id=81, round_id=1, group_id=91, met="yes", rating=4)
        await race(
            app.state.runtime,
            env.database_url,
            lambda uow: service.on_pair_created(uow, match, app.state.mail, HOUR),
            lambda uow: bot_service.on_meeting_feedback(uow, answer),
        )
        rows = await query(
            env.database_url,
            "notifier",
            "select user_id, status, met, rating from follow_up order by user_id",
        )
        assert rows == [(81, "answered", "yes", 4), (82, "scheduled", None, None)]
