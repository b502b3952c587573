"""The channels a user hears about matches on (docs/api.md, My profile): shown in ``me`` on
both surfaces, chosen with PATCH, carried by ``profile.changed``, and left by email when the
notifier reports a followed unsubscribe link (``email.unsubscribed``)."""

import json

import pytest

from auth_service.main import create_app as create_auth_app
from auth_service.settings import AuthSettings
from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.support.helpers import eventually, publish, query
from unimatch_shared.events import EmailUnsubscribed, TelegramLinked

SHARED_SETTINGS = {"database_url", "nats_url", "unimatch_event_prefix", "unimatch_ack_wait_seconds"}
PASSWORD = "pa55word"


@pytest.fixture
def settings(service_settings) -> ProfileSettings:
    return ProfileSettings(**service_settings)


@pytest.fixture
async def system(settings):
    auth_settings = AuthSettings(**settings.model_dump(include=SHARED_SETTINGS))
    async with (
        running_app(create_auth_app(auth_settings)) as auth_api,
        running_app(create_app(settings)) as profile_api,
    ):
        yield auth_api, profile_api


async def sign_up(auth_api, profile_api, email: str) -> tuple[int, dict, dict]:
    """A confirmed account: its id, seed headers and web (Bearer) headers."""
    body = {"email": email, "password": PASSWORD, "first_name": "Анна", "hobby": [1, 2, 3]}
    response = await auth_api.post("/users/api/register/", json=body)
    assert response.status_code == 201, response.text
    user_id, seed = response.json()["user"]["id"], auth(response.json()["token"])
    login = await auth_api.post("/api/token/", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    web = {"Authorization": f"Bearer {login.json()['access']}"}

    async def confirmed():
        """The profile is there, and profile knows the key of the access token."""
        seed_me = await profile_api.get("/users/api/me/", headers=seed)
        web_me = await profile_api.get("/api/auth/users/me/", headers=web)
        return seed_me.status_code == web_me.status_code == 200

    await eventually(confirmed)
    return user_id, seed, web


async def announced_channels(settings, user_id: int) -> list:
    """The ``channels`` of every profile.changed profile emitted for the user, in order."""
    rows = await query(
        settings.database_url,
        "profile",
        "SELECT payload FROM outbox_message WHERE subject = 'profile.changed' ORDER BY id",
    )
    payloads = [json.loads(payload) for (payload,) in rows]
    return [p["channels"] for p in payloads if p["user_id"] == user_id]


async def test_channels_default_then_chosen_on_both_surfaces(settings, system, js):
    auth_api, profile_api = system
    user_id, seed, web = await sign_up(auth_api, profile_api, "anna.channels@example.com")

    me = (await profile_api.get("/users/api/me/", headers=seed)).json()
    assert me["channels"] == ["email"]  # no Telegram linked: email
    assert (await profile_api.get("/api/auth/users/me/", headers=web)).json()["channels"] == [
        "email"
    ]
    await publish(
        js, settings.unimatch_event_prefix, TelegramLinked(user_id=user_id, chat_id="4242")
    )

    async def linked():
        return (await profile_api.get("/users/api/me/", headers=seed)).json()["chat_id"]

    await eventually(linked)
    me = (await profile_api.get("/users/api/me/", headers=seed)).json()
    assert me["channels"] == ["telegram"]  # linked: Telegram

    both = await profile_api.patch(
        "/users/api/me/", json={"channels": ["email", "telegram", "email"]}, headers=seed
    )
    assert both.status_code == 200
    assert both.json()["channels"] == ["telegram", "email"]
    none = await profile_api.patch("/api/auth/users/me/", json={"channels": []}, headers=web)
    assert none.status_code == 200
    assert none.json()["channels"] == []
    assert (await profile_api.get("/api/auth/users/me/", headers=web)).json()["channels"] == []
    reset = await profile_api.patch("/users/api/me/", json={"channels": None}, headers=seed)
    assert reset.json()["channels"] == ["telegram"]
    # profile.changed carries the choice (None: the default) for the notifier.
    assert (await announced_channels(settings, user_id))[-3:] == [
        ["telegram", "email"],
        [],
        None,
    ]


@pytest.mark.parametrize(
    ("body", "seed_error"),
    [
        ({"channels": ["sms"]}, {"channels": ['"sms" is not a valid choice.']}),
        ({"channels": "email"}, {"channels": ['Expected a list of items but got type "str".']}),
        ({"channels": [1]}, {"channels": ["Not a valid string."]}),
    ],
)
async def test_bad_channels_are_refused_and_change_nothing(settings, system, body, seed_error):
    auth_api, profile_api = system
    _, seed, web = await sign_up(auth_api, profile_api, "boris.channels@example.com")
    refused = await profile_api.patch("/users/api/me/", json=body, headers=seed)
    assert refused.status_code == 400
    assert refused.json() == seed_error
    web_refused = await profile_api.patch("/api/auth/users/me/", json=body, headers=web)
    assert web_refused.status_code == 400
    assert web_refused.json()["error"].startswith("Каналы: ")
    assert (await profile_api.get("/users/api/me/", headers=seed)).json()["channels"] == ["email"]


async def test_unsubscribe_takes_email_out_of_the_channels(settings, system, js):
    auth_api, profile_api = system
    user_id, seed, _ = await sign_up(auth_api, profile_api, "vera.channels@example.com")
    await profile_api.patch(
        "/users/api/me/", json={"channels": ["telegram", "email"]}, headers=seed
    )
    event = EmailUnsubscribed(user_id=user_id)
    await publish(js, settings.unimatch_event_prefix, event)

    async def channels():
        return (await profile_api.get("/users/api/me/", headers=seed)).json()["channels"]

    await eventually(lambda: _equals(channels(), ["telegram"]))
    await publish(js, settings.unimatch_event_prefix, event, msg_id="again")  # a redelivery
    other = EmailUnsubscribed(user_id=user_id)  # email is already off: nothing to announce
    await publish(js, settings.unimatch_event_prefix, other)

    async def applied():
        sql = "SELECT count(*) FROM processed_event WHERE event_id = %s"
        rows = await query(settings.database_url, "profile", sql, other.event_id)
        return rows[0][0] == 1

    await eventually(applied)
    assert (await announced_channels(settings, user_id))[-2:] == [
        ["telegram", "email"],
        ["telegram"],
    ]


async def _equals(value, expected) -> bool:
    return await value == expected
