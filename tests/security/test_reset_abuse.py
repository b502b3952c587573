"""Hostile callers of the password reset through the gateway (docs/adr/016-password-reset.md):
what a request reveals about accounts, links used twice or late, floods of requests.

The token a mail would carry is read from the JetStream stream, where the notifier reads it.
Each test calls from loopback addresses of its own, so no test's requests count against
another's.
"""

import psycopg

from tests.e2e.helpers import new_email, register
from tests.e2e.test_events import on_stream
from tests.security.test_security import PASSWORD, client_at, wait_of
from tests.support.helpers import eventually
from unimatch_shared.events import PasswordResetRequested

INVALID_LINK = {"token": ["Invalid or expired token."]}


def ask(client, email: str):
    return client.post("/users/api/password-reset/", json={"email": email})


def mails_to(infra, email: str) -> list[PasswordResetRequested]:
    return [e for e in on_stream(infra, PasswordResetRequested) if e.email == email]


def confirm(client, event: PasswordResetRequested, password: str = "n3w-pa55word"):
    return client.post(
        "/users/api/password-reset/confirm/",
        json={"uid": event.uid, "token": event.token, "new_password": password},
    )


def comparable(response) -> tuple:
    """What a caller sees of an answer, but for what differs on every request."""
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}
    return response.status_code, response.content, headers


def test_an_unknown_email_is_answered_as_a_known_one_and_mails_nothing(api, stack, infra):
    known = register(api)["user"]["email"]
    unknown = new_email()
    with client_at(stack) as client:
        known_answer, unknown_answer = ask(client, known), ask(client, unknown)
        web_known = client.post("/api/auth/users/reset_password/", json={"email": known})
        web_unknown = client.post("/api/auth/users/reset_password/", json={"email": unknown})
    assert comparable(known_answer) == comparable(unknown_answer)
    assert comparable(web_known) == comparable(web_unknown)
    assert known_answer.status_code == 204
    eventually(lambda: len(mails_to(infra, known)) == 2, "both mails to the known address")
    assert mails_to(infra, unknown) == []
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        outbox = connection.execute(
            "SELECT count(*) FROM auth.outbox_message WHERE subject = 'password_reset.requested'"
            " AND payload::jsonb ->> 'email' = %s",
            (unknown,),
        ).fetchone()[0]
    assert outbox == 0


def test_a_link_cannot_be_used_twice_nor_by_two_racers(api, stack, infra):
    email = register(api)["user"]["email"]
    with client_at(stack) as client:
        ask(client, email)
        (event,) = eventually(lambda: mails_to(infra, email))
        assert confirm(client, event, "first-pa55word").status_code == 204
        reused = confirm(client, event, "attacker-pa55")
        assert (reused.status_code, reused.json()) == (400, INVALID_LINK)
        web = client.post(
            "/api/auth/users/reset_password_confirm/",
            json={"uid": event.uid, "token": event.token, "new_password": "attacker-pa55"},
        )
        assert web.status_code == 400
        login = client.post(
            "/auth/token/login/", json={"email": email, "password": "first-pa55word"}
        )
        assert login.status_code == 201


def test_an_expired_link_is_refused(api, stack, infra):
    email = register(api)["user"]["email"]
    with client_at(stack) as client:
        ask(client, email)
        (event,) = eventually(lambda: mails_to(infra, email))
        with psycopg.connect(infra.database_url, autocommit=True) as connection:
            connection.execute(
                "UPDATE auth.mailed_token SET expires_at = now() - interval '1 second'"
                " WHERE user_id = %s",
                (event.user_id,),
            )
        late = confirm(client, event)
        assert (late.status_code, late.json()) == (400, INVALID_LINK)
        old = client.post("/auth/token/login/", json={"email": email, "password": PASSWORD})
        assert old.status_code == 201


def test_a_token_is_bound_to_its_account_and_stored_only_hashed(api, stack, infra):
    victim = register(api)["user"]["email"]
    attacker = register(api)["user"]["email"]
    with client_at(stack) as client:
        ask(client, victim)
        ask(client, attacker)
        (victims,) = eventually(lambda: mails_to(infra, victim))
        (own,) = eventually(lambda: mails_to(infra, attacker))
        # The attacker's own token, presented with the victim's uid.
        forged = client.post(
            "/users/api/password-reset/confirm/",
            json={"uid": victims.uid, "token": own.token, "new_password": "taken-over-1"},
        )
        assert (forged.status_code, forged.json()) == (400, INVALID_LINK)
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        stored = [
            row[0]
            for row in connection.execute(
                "SELECT digest FROM auth.mailed_token WHERE user_id = %s", (victims.user_id,)
            )
        ]
    assert len(stored) == 1 and victims.token not in stored[0]


def test_requests_are_throttled_per_email_and_per_address(api, stack):
    email = register(api)["user"]["email"]
    for _ in range(3):
        with client_at(stack) as client:
            assert ask(client, email).status_code == 204
    # A fourth mail to the address waits, wherever it is asked from; an unknown address is
    # throttled alike, so the limit says nothing about accounts either.
    with client_at(stack) as client:
        assert 0 < wait_of(ask(client, email)) <= 15 * 60
    unknown = new_email()
    for _ in range(3):
        with client_at(stack) as client:
            assert ask(client, unknown).status_code == 204
    with client_at(stack) as client:
        assert 0 < wait_of(ask(client, unknown)) <= 15 * 60

    with client_at(stack) as sprayer, client_at(stack) as neighbour:
        for _ in range(20):
            assert ask(sprayer, new_email()).status_code == 204
        assert wait_of(ask(sprayer, new_email())) > 0
        assert ask(neighbour, new_email()).status_code == 204
        web = sprayer.post("/api/auth/users/reset_password/", json={"email": new_email()})
        assert web.status_code == 429
        assert web.json() == {"error": "Слишком много попыток, попробуйте позже"}
        assert web.headers["Retry-After"].isdigit()
