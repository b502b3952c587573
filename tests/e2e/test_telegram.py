"""Telegram end to end: link one user by the Login Widget and one by deep link, hold a round,
and both chats hear exactly once about the other; the bot answers linked and unlinked chats."""

import time

from tests.e2e.helpers import auth, register, wait_until_matching_knows
from tests.support.helpers import eventually
from tests.support.telegram_stub import USERNAME, login_widget_data

# A hobby no other end-to-end test gives anyone, so the optimum must pair these two.
RARE_HOBBY = 37


def test_link_both_ways_then_announce_the_match_once(api, infra, telegram, staff):
    anna = register(api, first_name="Анна", hobby=[RARE_HOBBY])
    boris = register(api, first_name="Борис", hobby=[RARE_HOBBY])
    anna_chat, boris_chat = 7_000_001, 7_000_002

    widget = login_widget_data(anna_chat, username="anna_tg")
    linked = api.post("/users/api/tg-auth/", headers=auth(anna["token"]), json=widget)
    assert linked.status_code == 201, linked.text
    assert linked.json()["chat_id"] == str(anna_chat)
    assert api.get("/users/api/me/", headers=auth(anna["token"])).json()["chat_id"] == str(
        anna_chat
    )
    again = api.post("/users/api/tg-auth/", headers=auth(anna["token"]), json=widget)
    assert again.status_code == 201
    taken = api.post("/users/api/tg-auth/", headers=auth(boris["token"]), json=widget)
    assert taken.status_code == 400
    assert taken.json() == {"chat_id": ["This Telegram account is already linked to another user."]}
    tampered = {**login_widget_data(boris_chat), "first_name": "Чужой"}
    refused = api.post("/users/api/tg-auth/", headers=auth(boris["token"]), json=tampered)
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": ["Telegram authorization is invalid or expired."]}

    link = api.get("/users/api/tg-link/", headers=auth(boris["token"]))
    assert link.status_code == 200
    url = link.json()["url"]
    assert url.startswith(f"https://t.me/{USERNAME}?start=")
    telegram.push_message(boris_chat, "/start " + url.split("start=")[1], username="boris_tg")
    eventually(
        lambda: (
            api.get("/users/api/me/", headers=auth(boris["token"])).json()["chat_id"]
            == str(boris_chat)
        ),
        "boris's profile shows the chat he linked",
    )
    # The code is single-use: a second chat gets no link from it.
    telegram.push_message(7_000_003, "/start " + url.split("start=")[1])
    eventually(lambda: telegram.messages_to(7_000_003))

    wait_until_matching_knows(infra, [anna["user"]["id"], boris["user"]["id"]])
    assert api.post("/matching/api/rounds/", headers=staff).status_code == 201

    def announcements(chat):
        return [m for m in telegram.messages_to(chat) if m.startswith("☕ У вас нов")]

    eventually(lambda: announcements(anna_chat) and announcements(boris_chat))
    time.sleep(2)  # a duplicate would arrive within this
    to_anna, to_boris = announcements(anna_chat), announcements(boris_chat)
    assert len(to_anna) == 1 and len(to_boris) == 1
    assert "Борис" in to_anna[0] and "@boris_tg" in to_anna[0]
    assert "Анна" in to_boris[0] and "@anna_tg" in to_boris[0]


def test_bot_answers_linked_and_unlinked_chats(api, telegram):
    stranger = 7_100_001
    for command in ("/start", "/help", "/pair", "/next", "/history", "/pause", "/resume"):
        before = len(telegram.messages_to(stranger))
        telegram.push_message(stranger, command)
        eventually(lambda before=before: len(telegram.messages_to(stranger)) > before)

    member = register(api, first_name="Вера")
    chat = 7_100_002
    widget = login_widget_data(chat)
    assert (
        api.post("/users/api/tg-auth/", headers=auth(member["token"]), json=widget).status_code
        == 201
    )
    for command in ("/help", "/pair", "/next", "/history", "/pause", "/resume"):
        before = len(telegram.messages_to(chat))
        telegram.push_message(chat, command)
        eventually(lambda before=before: len(telegram.messages_to(chat)) > before)
    assert api.get("/users/api/me/", headers=auth(member["token"])).json()["paused"] is False
    telegram.push_message(chat, "/pause")
    eventually(lambda: api.get("/users/api/me/", headers=auth(member["token"])).json()["paused"])
