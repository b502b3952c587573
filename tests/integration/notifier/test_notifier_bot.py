"""The bot's commands, each in a linked and in an unlinked chat."""

from notifier_service.main import create_app
from tests.conftest import running_app
from tests.integration.notifier.helpers import (
    answer_next_round,
    pair_created,
    register,
    running_system,
)
from tests.support.helpers import auth as auth_header
from tests.support.helpers import eventually, publish
from tests.support.telegram_stub import login_widget_data

LINKED, UNLINKED = 9001, 9002


async def ask(telegram, chat_id: int, text: str) -> str:
    """Send ``text`` from ``chat_id``; the bot's one reply."""
    before = len(telegram.messages_to(chat_id))
    telegram.push_message(chat_id, text)
    await eventually(lambda: len(telegram.messages_to(chat_id)) > before)
    return telegram.messages_to(chat_id)[before]


async def test_every_command_answers_in_russian(env, notifier_settings, telegram, nc):
    await answer_next_round(nc, env.event_prefix)
    async with running_system(env, notifier_settings) as (auth, profile, notifier):
        erin, token = await register(auth, "erin@example.com", "Эрин", [2])
        response = await notifier.post(
            "/users/api/tg-auth", json=login_widget_data(LINKED), headers=auth_header(token)
        )
        assert response.status_code == 201
        await eventually(lambda: telegram.commands)
        assert {c["command"] for c in telegram.commands} == {
            "start", "pair", "next", "history", "pause", "resume", "profile", "leave", "help",
        }  # fmt: skip

        for chat in (LINKED, UNLINKED):
            assert "/pair" in await ask(telegram, chat, "/help")
            assert "Осталось: 1 дн. 13 ч. 17 мин." in await ask(telegram, chat, "/next")
        assert "чат привязан" in await ask(telegram, LINKED, "/start")
        assert "Присоединиться" in await ask(telegram, UNLINKED, "/start")
        for command in ("/pair", "/history", "/pause", "/resume", "/profile", "/leave"):
            assert "не привязан" in await ask(telegram, UNLINKED, command)

        assert "Пары пока нет" in await ask(telegram, LINKED, "/pair")
        assert "Встреч пока не было" in await ask(telegram, LINKED, "/history")
        await publish(
            nc.jetstream(), env.event_prefix, pair_created(5, (erin["id"], "Эрин"), (77, "Фрэнк"))
        )
        await eventually(lambda: "новая пара" in telegram.messages_to(LINKED)[-1])
        assert "Фрэнк Тестов" in await ask(telegram, LINKED, "/pair")
        assert "Фрэнк Тестов" in await ask(telegram, LINKED, "/history")

        assert "Пауза включена" in await ask(telegram, LINKED, "/pause 2999-01-31")
        me = await profile.get("/users/api/me", headers=auth_header(token))
        assert me.json()["paused"] is True and me.json()["paused_until"] == "2999-01-31"
        assert "ГГГГ-ММ-ДД" in await ask(telegram, LINKED, "/pause завтра")
        assert "не раньше сегодняшней" in await ask(telegram, LINKED, "/pause 2000-01-01")
        assert "снова участвуете" in await ask(telegram, LINKED, "/resume")

        async def resumed():
            me = await profile.get("/users/api/me", headers=auth_header(token))
            return me.json()["paused"] is False

        await eventually(resumed)


async def test_webhook_mode_checks_telegrams_secret(env, notifier_settings, telegram):
    url = "https://unimatch.example.com/telegram/webhook"
    settings = notifier_settings.model_copy(update={"telegram_webhook_url": url})
    async with running_app(create_app(settings)) as notifier:
        await eventually(lambda: telegram.webhook)
        assert telegram.webhook["url"] == url
        secret = telegram.webhook["secret_token"]
        update = telegram.message_update(UNLINKED, "/help")
        forged = {"X-Telegram-Bot-Api-Secret-Token": "forged"}
        response = await notifier.post("/telegram/webhook/", json=update, headers=forged)
        assert response.status_code == 403
        genuine = {"X-Telegram-Bot-Api-Secret-Token": secret}
        response = await notifier.post("/telegram/webhook", json=update, headers=genuine)
        assert response.status_code == 200
        assert "/pair" in telegram.messages_to(UNLINKED)[0]
