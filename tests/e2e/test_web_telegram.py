"""Logging in on the web surface with the Telegram Login Widget (`POST /api/tg-auth/`,
docs/api.md, Web surface): the linked user, or a new account without a password."""

import secrets
import time

import psycopg
import pytest

from tests.e2e.helpers import auth
from tests.e2e.test_web_sessions import bearer, refresh, refresh_cookie, web_register
from tests.support.telegram_stub import login_widget_data

INVALID = {"error": "Данные входа через Telegram недействительны или устарели"}


def telegram_id() -> int:
    return 9_000_000_000 + secrets.randbelow(10**9)


def accounts_with(infra, email: str) -> int:
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        query = "SELECT count(*) FROM auth.user_account WHERE email = %s"
        return connection.execute(query, (email,)).fetchone()[0]


def test_a_new_telegram_account_gets_an_account_and_logs_in_again(api, infra):
    tg = telegram_id()
    widget = login_widget_data(tg, first_name="Тимур", last_name="Тагиров", username="timur_tg")
    response = api.post("/api/tg-auth/", json=widget)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access"}
    assert refresh(api, refresh_cookie(response)).status_code == 200
    me = api.get("/api/auth/users/me/", headers=bearer(response.json()["access"])).json()
    assert (me["first_name"], me["last_name"], me["chat_id"]) == ("Тимур", "Тагиров", str(tg))
    assert (me["hobby"], me["tg_link"], me["birth"]) == ([], "", None)
    assert me["email"] == f"telegram-{tg}@telegram.invalid"

    again = api.post("/api/tg-auth", json=login_widget_data(tg, first_name="Тимур"))
    assert again.status_code == 200
    same = api.get("/api/auth/users/me", headers=bearer(again.json()["access"])).json()
    assert same["id"] == me["id"]
    assert accounts_with(infra, me["email"]) == 1
    # No password logs in to it, on either surface.
    for password in ("", "anything-1"):
        body = {"email": me["email"], "password": password}
        assert api.post("/api/token/", json=body).status_code == 400
        assert api.post("/auth/token/login/", json=body).status_code == 400


def test_the_linked_user_logs_in_with_telegram(api):
    user, _, _ = web_register(api)
    seed = api.post("/auth/token/login/", json={"email": user["email"], "password": "secret-1"})
    tg = telegram_id()
    linked = api.post(
        "/users/api/tg-auth/", headers=auth(seed.json()["token"]), json=login_widget_data(tg)
    )
    assert linked.status_code == 201, linked.text
    response = api.post("/api/tg-auth/", json=login_widget_data(tg, username="anna_tg"))
    assert response.status_code == 200, response.text
    me = api.get("/api/auth/users/me/", headers=bearer(response.json()["access"])).json()
    assert (me["id"], me["chat_id"], me["email"]) == (user["id"], str(tg), user["email"])


@pytest.mark.parametrize(
    "widget",
    [
        lambda tg: {**login_widget_data(tg), "first_name": "Чужой"},
        lambda tg: login_widget_data(tg, auth_date=int(time.time()) - 2 * 86400),
        lambda tg: {**login_widget_data(tg), "hash": "0" * 64},
        lambda tg: {k: v for k, v in login_widget_data(tg).items() if k != "hash"},
    ],
    ids=["tampered", "stale", "wrong hash", "no hash"],
)
def test_a_payload_telegram_did_not_sign_is_refused_and_stores_nothing(api, infra, widget):
    tg = telegram_id()
    response = api.post("/api/tg-auth/", json=widget(tg))
    assert response.status_code == 400
    assert response.json() == INVALID
    assert "set-cookie" not in response.headers
    assert accounts_with(infra, f"telegram-{tg}@telegram.invalid") == 0


@pytest.mark.parametrize("body", [{}, {"id": "x", "auth_date": 1}, {"id": 1}, []])
def test_malformed_payloads_are_400_in_the_web_shape(api, body):
    response = api.post("/api/tg-auth/", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
