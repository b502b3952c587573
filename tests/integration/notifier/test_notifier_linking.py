"""Linking a Telegram account: the Login Widget (docs/api.md, Link Telegram) and the bot's
deep link."""

import asyncio
import time

from tests.integration.notifier.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    log_in,
    pair_created,
    register,
    running_system,
)
from tests.support.helpers import auth as auth_header
from tests.support.helpers import eventually, publish, query
from tests.support.telegram_stub import login_widget_data

INVALID = {"non_field_errors": ["Telegram authorization is invalid or expired."]}


async def test_widget_and_deep_link_then_both_hear_of_their_match(
    env, notifier_settings, telegram, nc
):
    async with running_system(env, notifier_settings) as (auth, profile, notifier):
        alice, alice_token = await register(auth, "alice@example.com", "Алиса", [1, 5])
        bob, bob_token = await register(auth, "bob@example.com", "Боб", [5])

        # Alice links with the widget; her profile shows it at once.
        login = login_widget_data(7001, username="alice_tg")
        response = await notifier.post(
            "/users/api/tg-auth/", json=login, headers=auth_header(alice_token)
        )
        assert response.status_code == 201, response.text
        assert response.json() == {**alice, "chat_id": "7001"}
        me = await profile.get("/users/api/me/", headers=auth_header(alice_token))
        assert me.json()["chat_id"] == "7001"

        # Bob follows a deep link; the bot links his chat and says so in Russian.
        response = await notifier.get("/users/api/tg-link/", headers=auth_header(bob_token))
        assert response.status_code == 200, response.text
        url = response.json()["url"]
        assert url.startswith("https://t.me/unimatch_test_bot?start=")
        code = url.split("start=")[1]
        telegram.push_message(7002, f"/start {code}", first_name="Боб", username="bob_tg")
        await eventually(lambda: telegram.messages_to(7002))
        assert "привязан" in telegram.messages_to(7002)[0]

        async def bob_linked():
            me = await profile.get("/users/api/me/", headers=auth_header(bob_token))
            return me.json()["chat_id"] == "7002"

        await eventually(bob_linked)

        # The code works once.
        telegram.push_message(7003, f"/start {code}")
        await eventually(lambda: telegram.messages_to(7003))
        assert "недействительна" in telegram.messages_to(7003)[0]

        await publish(
            nc.jetstream(),
            env.event_prefix,
            pair_created(1, (alice["id"], "Алиса"), (bob["id"], "Боб")),
        )
        await eventually(lambda: len(telegram.messages_to(7001)) == 1)
        await eventually(lambda: len(telegram.messages_to(7002)) == 2)
        to_alice = telegram.messages_to(7001)[0]
        to_bob = telegram.messages_to(7002)[1]
        assert "Боб Тестов" in to_alice and "@bob_tg" in to_alice and "Музыка" in to_alice
        assert "Алиса Тестов" in to_bob and "@alice_tg" in to_bob
        await asyncio.sleep(1.5)  # and nothing more arrives
        assert len(telegram.messages_to(7001)) == 1 and len(telegram.messages_to(7002)) == 2


async def test_widget_refusals_relinks_and_staff_links(env, notifier_settings, telegram):
    async with running_system(env, notifier_settings) as (auth, profile, notifier):
        carol, carol_token = await register(auth, "carol@example.com", "Кэрол", [])
        dave, dave_token = await register(auth, "dave@example.com", "Дэйв", [])
        headers = auth_header(carol_token)

        async def link(body, headers=headers):
            return await notifier.post("/users/api/tg-auth", json=body, headers=headers)

        tampered = {**login_widget_data(8001), "first_name": "Мэллори"}
        assert (await link(tampered)).json() == INVALID
        wrong_bot = login_widget_data(8001, token="999:another-bot")
        assert (await link(wrong_bot)).status_code == 400
        stale = login_widget_data(8001, auth_date=int(time.time()) - 25 * 3600)
        assert (await link(stale)).json() == INVALID
        unsigned = {k: v for k, v in login_widget_data(8001).items() if k != "hash"}
        assert (await link(unsigned)).json() == INVALID
        assert (
            await notifier.post("/users/api/tg-auth", json=login_widget_data(8001))
        ).status_code == 401

        assert (await link(login_widget_data(8001))).status_code == 201
        assert (await link(login_widget_data(8001))).status_code == 201  # the same pair again
        taken = await link(login_widget_data(8001), headers=auth_header(dave_token))
        assert taken.status_code == 400
        assert taken.json() == {
            "chat_id": ["This Telegram account is already linked to another user."]
        }

        # Staff link another user by email (found in the notifier's read model of profiles).
        staff = auth_header(await log_in(auth, ADMIN_EMAIL, ADMIN_PASSWORD))

        async def dave_known():
            rows = await query(
                env.database_url,
                "notifier",
                "select 1 from member where email = %s",
                "dave@example.com",
            )
            return rows

        await eventually(dave_known)
        # email is the client's addition, not signed by Telegram
        body = {**login_widget_data(8002), "email": "dave@example.com"}
        response = await link(body, headers=staff)
        assert response.status_code == 201, response.text
        assert response.json()["id"] == dave["id"] and response.json()["chat_id"] == "8002"
        me = await profile.get("/users/api/me", headers=auth_header(dave_token))
        assert me.json()["chat_id"] == "8002"
