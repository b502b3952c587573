"""Password reset and email change in auth, in-process against real PostgreSQL and NATS
(docs/adr/016-password-reset.md), checked at the event level: the token a mail would carry
is read from auth's outbox, where the notifier's copy of the event comes from.

The app runs behind httpx's ASGI transport, whose peer is 127.0.0.1 (a trusted proxy), so
each request names its client with ``X-Real-IP`` as the gateway would.
"""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import text

from auth_service import mailed_links, service
from tests.e2e.helpers import auth
from tests.integration.auth.helpers import running_auth, staffed
from unimatch_shared.rpc import EmailChangeReply, RequestEmailChange

OWNER = {"email": "owner@example.com", "password": "owner-password-1"}
NEW_PASSWORD = "brand-new-pass-2"
_addresses = count(1)


@pytest.fixture
async def app(service_settings, tmp_path):
    async with running_auth(
        staffed(
            service_settings,
            OWNER,
            unimatch_var_dir=tmp_path,
            unimatch_password_reset_token_minutes=30,
            # Logins and resets hash passwords; a loaded test machine must not shed them.
            password_hash_budget_seconds=10,
        )
    ) as app:
        yield app


def address() -> dict[str, str]:
    """A client address of its own, so no test's requests count against another's."""
    return {"X-Real-IP": f"198.51.100.{next(_addresses)}"}


async def outbox(app, subject: str) -> list[dict]:
    async with app.state.runtime.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT payload FROM outbox_message WHERE subject = :s ORDER BY id"),
            {"s": subject},
        )
        return [json.loads(payload) if isinstance(payload, str) else payload for (payload,) in rows]


async def request_reset(app, email: str, headers=None):
    return await app.client.post(
        "/users/api/password-reset/", json={"email": email}, headers=headers or address()
    )


async def confirm(app, uid: str, token: str, password: str = NEW_PASSWORD):
    return await app.client.post(
        "/users/api/password-reset/confirm/",
        json={"uid": uid, "token": token, "new_password": password},
    )


async def log_in(app, email=OWNER["email"], password=OWNER["password"]):
    return await app.client.post(
        "/auth/token/login/", json={"email": email, "password": password}, headers=address()
    )


async def reset_mail(app) -> dict:
    """The newest password_reset.requested: what the notifier is given to mail."""
    (*_, event) = await outbox(app, "password_reset.requested")
    return event


async def test_a_reset_link_sets_the_password_once_and_ends_every_session(app):
    seed_token = (await log_in(app)).json()["token"]
    web = await app.client.post("/api/token/", json=OWNER)
    refresh = web.cookies["refresh_token"]
    store = app.state.runtime.live_sessions

    response = await request_reset(app, OWNER["email"].upper())
    assert (response.status_code, response.content) == (204, b"")
    event = await reset_mail(app)
    assert event["email"] == OWNER["email"]
    assert event["uid"] == "MQ"  # user 1, as Djoser writes it
    expires = datetime.fromisoformat(event["expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    async with app.state.runtime.engine.connect() as connection:
        stored = await connection.scalar(text("SELECT digest FROM mailed_token"))
    assert event["token"] not in stored and len(stored) == 64  # only its SHA-256

    assert (await confirm(app, event["uid"], event["token"])).status_code == 204
    assert (await log_in(app)).status_code == 400
    assert (await log_in(app, password=NEW_PASSWORD)).status_code == 201
    assert await store.verify(seed_token) is None
    me = await app.client.post("/auth/token/logout/", headers=auth(seed_token))
    assert me.status_code == 401
    refreshed = await app.client.post(
        "/api/token/refresh/", headers={"Cookie": f"refresh_token={refresh}"}
    )
    assert refreshed.status_code == 401

    again = await confirm(app, event["uid"], event["token"], "yet-another-pass-3")
    assert again.status_code == 400
    assert again.json() == {"token": ["Invalid or expired token."]}
    assert (await log_in(app, password=NEW_PASSWORD)).status_code == 201


async def test_a_reset_lifts_the_login_throttle_on_its_email(app):
    locked_out = address()
    for _ in range(5):
        wrong = {"email": OWNER["email"], "password": "forgotten-1"}
        response = await app.client.post("/auth/token/login/", json=wrong, headers=locked_out)
        assert response.status_code == 400
    new = {"email": OWNER["email"], "password": NEW_PASSWORD}
    assert (
        await app.client.post("/auth/token/login/", json=new, headers=locked_out)
    ).status_code == 429
    await request_reset(app, OWNER["email"], locked_out)
    event = await reset_mail(app)
    assert (await confirm(app, event["uid"], event["token"])).status_code == 204
    assert (
        await app.client.post("/auth/token/login/", json=new, headers=locked_out)
    ).status_code == 201


async def test_an_unknown_email_is_answered_alike_and_mails_nothing(app):
    known = await request_reset(app, OWNER["email"])
    unknown = await request_reset(app, "nobody@example.com")
    assert (unknown.status_code, unknown.content) == (known.status_code, known.content)
    assert set(unknown.headers) - {"x-request-id", "date"} == set(known.headers) - {
        "x-request-id",
        "date",
    }
    assert [e["email"] for e in await outbox(app, "password_reset.requested")] == [OWNER["email"]]


async def test_an_expired_link_is_refused_and_changes_nothing(app):
    await request_reset(app, OWNER["email"])
    event = await reset_mail(app)
    async with app.state.runtime.engine.begin() as connection:
        await connection.execute(
            text("UPDATE mailed_token SET expires_at = now() - interval '1 second'")
        )
    response = await confirm(app, event["uid"], event["token"])
    assert response.status_code == 400
    assert response.json() == {"token": ["Invalid or expired token."]}
    assert (await log_in(app)).status_code == 201


async def test_a_link_works_only_for_its_own_account_and_purpose(app):
    await request_reset(app, OWNER["email"])
    event = await reset_mail(app)
    for uid, token in [
        ("Mg", event["token"]),  # user 2's uid with user 1's token
        ("MQ", event["token"][:-1] + ("A" if event["token"][-1] != "A" else "B")),
        ("not base64!", event["token"]),
        (event["uid"], "short"),
    ]:
        response = await confirm(app, uid, token)
        assert response.status_code == 400, (uid, token)
        assert response.json() == {"token": ["Invalid or expired token."]}
    # An email-change token is no reset token.
    async with app.state.runtime.engine.begin() as connection:
        await connection.execute(text("UPDATE mailed_token SET purpose = 'email_change'"))
    assert (await confirm(app, event["uid"], event["token"])).status_code == 400


async def test_the_new_password_obeys_the_sign_up_policy_and_a_refusal_keeps_the_link(app):
    await request_reset(app, OWNER["email"])
    event = await reset_mail(app)
    refused = await confirm(app, event["uid"], event["token"], "123456789")
    assert refused.status_code == 400
    assert refused.json() == {"new_password": ["This password is entirely numeric."]}
    web = await app.client.post(
        "/api/auth/users/reset_password_confirm/",
        json={"uid": event["uid"], "token": event["token"], "new_password": "только-кириллица"},
    )
    assert web.status_code == 400
    assert web.json() == {"error": "Новый пароль: должен содержать латинскую букву"}
    assert (await confirm(app, event["uid"], event["token"])).status_code == 204


async def test_a_changed_password_voids_every_earlier_link(app):
    headers = address()
    await request_reset(app, OWNER["email"], headers)
    first = await reset_mail(app)
    await request_reset(app, OWNER["email"], headers)
    second = await reset_mail(app)
    assert first["token"] != second["token"]
    assert (await confirm(app, second["uid"], second["token"])).status_code == 204
    assert (await confirm(app, first["uid"], first["token"])).status_code == 400


async def test_two_uses_at_once_change_the_password_once(app):
    await request_reset(app, OWNER["email"])
    event = await reset_mail(app)
    answers = await asyncio.gather(
        confirm(app, event["uid"], event["token"], "racer-one-pass-1"),
        confirm(app, event["uid"], event["token"], "racer-two-pass-2"),
    )
    assert sorted(r.status_code for r in answers) == [204, 400]
    winner = "racer-one-pass-1" if answers[0].status_code == 204 else "racer-two-pass-2"
    assert (await log_in(app, password=winner)).status_code == 201


async def test_reset_requests_are_throttled_per_email_and_per_network(app):
    for _ in range(3):
        assert (await request_reset(app, "victim@example.com", address())).status_code == 204
    throttled = await request_reset(app, "victim@example.com", address())
    assert throttled.status_code == 429
    wait = int(throttled.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    assert throttled.json() == {
        "detail": f"Request was throttled. Expected available in {wait} seconds."
    }
    web = await app.client.post(
        "/api/auth/users/reset_password/", json={"email": "victim@example.com"}, headers=address()
    )
    assert web.status_code == 429
    assert web.json() == {"error": "Слишком много попыток, попробуйте позже"}

    sprayer = {"X-Real-IP": "203.0.113.77"}
    for i in range(20):
        assert (await request_reset(app, f"spray{i}@example.com", sprayer)).status_code == 204
    assert (await request_reset(app, "spray-last@example.com", sprayer)).status_code == 429
    assert (await request_reset(app, "spray-last@example.com", address())).status_code == 204


async def test_the_web_surface_resets_alike_answering_a_json_body(app):
    # The web app parses a JSON body from every success: an empty 204 would read as a failure
    # ("no such user" on the forgot-password form; the reset page would stay put).
    web = await app.client.post(
        "/api/auth/users/reset_password", json={"email": OWNER["email"]}, headers=address()
    )
    assert (web.status_code, web.json()) == (200, {})
    unknown = await app.client.post(
        "/api/auth/users/reset_password", json={"email": "nobody@example.com"}, headers=address()
    )
    assert (unknown.status_code, unknown.json()) == (200, {})
    event = await reset_mail(app)
    done = await app.client.post(
        "/api/auth/users/reset_password_confirm",
        json={
            "uid": event["uid"],
            "token": event["token"],
            "new_password": NEW_PASSWORD,
            "re_new_password": NEW_PASSWORD,
        },
    )
    assert (done.status_code, done.json()) == (200, {})
    again = await app.client.post(
        "/api/auth/users/reset_password_confirm",
        json={"uid": event["uid"], "token": event["token"], "new_password": NEW_PASSWORD},
    )
    assert again.status_code == 400
    assert again.json() == {"error": "Ссылка для сброса пароля недействительна или устарела"}
    invalid = await app.client.post(
        "/api/auth/users/reset_password", json={"email": "not-an-email"}, headers=address()
    )
    assert invalid.status_code == 400
    assert invalid.json() == {"error": "Email: некорректный адрес"}


async def request_email_change(app, email: str, user_id: int = 1) -> EmailChangeReply:
    """As profile asks it when ``me`` is edited with an email."""
    return await app.state.runtime.messaging.request(
        RequestEmailChange(user_id=user_id, email=email)
    )


async def test_an_email_change_takes_effect_when_its_link_is_followed(app):
    reply = await request_email_change(app, "  Owner.New@Example.com ")
    assert reply.pending_email == "owner.new@example.com"
    lifetime = reply.pending_until - datetime.now(UTC)
    assert timedelta(hours=23) < lifetime <= timedelta(hours=24)
    (event,) = await outbox(app, "email_change.requested")
    assert (event["user_id"], event["new_email"]) == (1, "owner.new@example.com")
    assert (await log_in(app)).status_code == 201  # still the old email until confirmed
    # Asked again (a form saved twice), no second mail.
    assert (await request_email_change(app, "owner.new@example.com")).pending_email == (
        "owner.new@example.com"
    )
    assert len(await outbox(app, "email_change.requested")) == 1

    confirmed = await app.client.post(
        "/users/api/email-change/confirm/", json={"token": event["token"]}
    )
    assert (confirmed.status_code, confirmed.content) == (204, b"")
    assert [(e["user_id"], e["email"]) for e in await outbox(app, "account.email_changed")] == [
        (1, "owner.new@example.com")
    ]
    assert (await log_in(app)).status_code == 400
    assert (await log_in(app, email="owner.new@example.com")).status_code == 201
    again = await app.client.post(
        "/users/api/email-change/confirm/", json={"token": event["token"]}
    )
    assert again.status_code == 400
    assert again.json() == {"token": ["Invalid or expired token."]}


async def test_a_newer_email_change_voids_the_older_link(app):
    await request_email_change(app, "first@example.com")
    await request_email_change(app, "second@example.com")
    first, second = await outbox(app, "email_change.requested")
    old = await app.client.post(
        "/api/auth/users/email_change_confirm/", json={"token": first["token"]}
    )
    assert old.status_code == 400
    assert old.json() == {"error": "Ссылка подтверждения email недействительна или устарела"}
    new = await app.client.post(
        "/api/auth/users/email_change_confirm/", json={"token": second["token"]}
    )
    assert new.status_code == 204
    assert (await log_in(app, email="second@example.com")).status_code == 201


async def test_a_taken_or_invalid_email_is_refused(app):
    runtime = app.state.runtime
    await service.ensure_admin(
        runtime.unit_of_work(), runtime.live_sessions, "taken@example.com", "taken-pass-1"
    )
    taken = await request_email_change(app, "TAKEN@example.com")
    assert taken.errors == {"email": ["user with this email already exists."]}
    invalid = await request_email_change(app, "nope")
    assert invalid.errors == {"email": ["Enter a valid email address."]}
    assert await request_email_change(app, OWNER["email"]) == EmailChangeReply()
    assert await outbox(app, "email_change.requested") == []

    # Taken between the request and the confirmation: refused, and the link stays unused.
    await request_email_change(app, "late@example.com")
    (event,) = await outbox(app, "email_change.requested")
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text("UPDATE user_account SET email = 'late@example.com' WHERE email = :e"),
            {"e": "taken@example.com"},
        )
    refused = await app.client.post(
        "/users/api/email-change/confirm/", json={"token": event["token"]}
    )
    assert refused.status_code == 400
    assert refused.json() == {"email": ["user with this email already exists."]}
    web = await app.client.post(
        "/api/auth/users/email_change_confirm/", json={"token": event["token"]}
    )
    assert web.json() == {"error": "Пользователь с таким email уже существует"}
    assert await outbox(app, "account.email_changed") == []


async def test_a_confirmed_email_change_voids_reset_links_sent_to_the_old_address(app):
    await request_reset(app, OWNER["email"])
    reset = await reset_mail(app)
    await request_email_change(app, "moved@example.com")
    (change,) = await outbox(app, "email_change.requested")
    confirmed = await app.client.post(
        "/users/api/email-change/confirm/", json={"token": change["token"]}
    )
    assert confirmed.status_code == 204
    assert (await confirm(app, reset["uid"], reset["token"])).status_code == 400


async def test_an_account_may_ask_for_three_email_changes_per_quarter_hour(app):
    for i in range(3):
        assert (await request_email_change(app, f"n{i}@example.com")).retry_after == 0
    reply = await request_email_change(app, "n3@example.com")
    assert 0 < reply.retry_after <= 15 * 60
    assert reply.pending_email == "n2@example.com"
    assert len(await outbox(app, "email_change.requested")) == 3


async def test_long_expired_tokens_and_old_requests_are_forgotten(app):
    await request_reset(app, OWNER["email"])
    await request_email_change(app, "kept@example.com")
    async with app.state.runtime.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE mailed_token SET expires_at = now() - interval '2 days' "
                "WHERE purpose = 'password_reset'"
            )
        )
        await connection.execute(
            text("UPDATE reset_request SET requested_at = now() - interval '1 hour'")
        )
    assert await mailed_links.forget_old_mailed_tokens(app.state.runtime.unit_of_work()) == 2
    async with app.state.runtime.engine.connect() as connection:
        left = await connection.scalar(text("SELECT count(*) FROM mailed_token"))
        requests = await connection.scalar(text("SELECT count(*) FROM reset_request"))
    assert (left, requests) == (1, 0)
