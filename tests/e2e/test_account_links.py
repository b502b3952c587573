"""Password reset and email change through the gateway, on both surfaces
(docs/api.md, "Password reset", "Confirm a new email"; docs/adr/016-password-reset.md).

The notifier mails the links; these tests stop at the event it is given: the token is read
from the JetStream stream, as the notifier reads it.
"""

import psycopg

from tests.e2e.helpers import auth, new_email, register
from tests.e2e.test_events import on_stream
from tests.support.helpers import eventually
from unimatch_shared.events import (
    AccountEmailChanged,
    EmailChangeRequested,
    PasswordResetRequested,
)

PASSWORD = "pa55word"  # what helpers.register gives every user
NEW_PASSWORD = "n3w-pa55word"


def reset_event(infra, email: str) -> PasswordResetRequested:
    """The reset link auth asked the notifier to mail to ``email`` (the newest)."""

    def published():
        return [e for e in on_stream(infra, PasswordResetRequested) if e.email == email]

    return eventually(published, f"password_reset.requested for {email}")[-1]


def change_event(infra, new: str) -> EmailChangeRequested:
    def published():
        return [e for e in on_stream(infra, EmailChangeRequested) if e.new_email == new]

    return eventually(published, f"email_change.requested for {new}")[-1]


def log_in(api, email: str, password: str):
    return api.post("/auth/token/login/", json={"email": email, "password": password})


def test_a_reset_link_sets_a_new_password_and_ends_every_session(api, infra):
    user = register(api)
    email, user_id = user["user"]["email"], user["user"]["id"]
    seed = user["token"]
    web = api.post("/api/token/", json={"email": email, "password": PASSWORD})
    refresh = web.cookies["refresh_token"]

    asked = api.post("/users/api/password-reset/", json={"email": email})
    assert (asked.status_code, asked.content) == (204, b"")
    event = reset_event(infra, email)
    assert event.user_id == user_id

    done = api.post(
        "/api/auth/users/reset_password_confirm/",
        json={"uid": event.uid, "token": event.token, "new_password": NEW_PASSWORD},
    )
    assert (done.status_code, done.json()) == (200, {})
    assert log_in(api, email, PASSWORD).status_code == 400
    assert log_in(api, email, NEW_PASSWORD).status_code == 201
    # Every session ended: the seed token on every service, the web refresh token.
    for path in ("/users/api/me/", "/users/api/tags/", "/users/api/tg-link/"):
        assert api.get(path, headers=auth(seed)).status_code == 401, path
    refreshed = api.post("/api/token/refresh/", headers={"Cookie": f"refresh_token={refresh}"})
    assert refreshed.status_code == 401
    # The link works once.
    again = api.post(
        "/users/api/password-reset/confirm/",
        json={"uid": event.uid, "token": event.token, "new_password": "an0ther-pass"},
    )
    assert again.status_code == 400
    assert again.json() == {"token": ["Invalid or expired token."]}
    assert log_in(api, email, NEW_PASSWORD).status_code == 201


def test_the_web_form_asks_for_a_reset_as_djoser_does(api, infra):
    email = register(api)["user"]["email"]
    asked = api.post("/api/auth/users/reset_password/", json={"email": email.upper()})
    assert (asked.status_code, asked.json()) == (200, {})
    event = reset_event(infra, email)
    done = api.post(
        "/users/api/password-reset/confirm/",
        json={"uid": event.uid, "token": event.token, "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 204
    web = api.post("/api/token/", json={"email": email, "password": NEW_PASSWORD})
    assert web.status_code == 200


def test_an_email_change_is_confirmed_by_the_link_mailed_to_the_new_address(api, infra):
    user = register(api, first_name="Анна")
    email, token = user["user"]["email"], user["token"]
    new = new_email()
    edited = api.patch("/users/api/me/", json={"email": new.upper()}, headers=auth(token))
    assert edited.status_code == 200
    assert (edited.json()["email"], edited.json()["pending_email"]) == (email, new)

    event = change_event(infra, new)
    confirmed = api.post("/users/api/email-change/confirm/", json={"token": event.token})
    assert (confirmed.status_code, confirmed.content) == (204, b"")
    assert log_in(api, new, PASSWORD).status_code == 201
    assert log_in(api, email, PASSWORD).status_code == 400

    def changed():
        me = api.get("/users/api/me/", headers=auth(token)).json()
        return me if me["email"] == new else None

    me = eventually(changed, "profile shows the confirmed email")
    assert me["pending_email"] is None
    assert any(e.email == new for e in on_stream(infra, AccountEmailChanged))
    # Matching, told by profile.changed, has it too (group members see each other's email).
    with psycopg.connect(infra.database_url, autocommit=True) as connection:

        def matching_knows():
            row = connection.execute(
                "SELECT email FROM matching.participant WHERE user_id = %s",
                (user["user"]["id"],),
            ).fetchone()
            return row and row[0] == new

        eventually(matching_knows, "matching learns the new email")


def test_the_web_profile_changes_email_alike(api, infra):
    email = register(api)["user"]["email"]
    access = api.post("/api/token/", json={"email": email, "password": PASSWORD}).json()["access"]
    bearer = {"Authorization": f"Bearer {access}"}
    new = new_email()
    edited = api.patch("/api/auth/users/me/", json={"email": new}, headers=bearer)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["email"], edited.json()["pending_email"]) == (email, new)
    assert api.get("/api/auth/users/me/", headers=bearer).json()["pending_email"] == new
    taken = api.patch("/api/auth/users/me/", json={"email": email}, headers=bearer)
    assert taken.status_code == 200  # the account's own email: nothing to confirm
    other = register(api)["user"]["email"]
    refused = api.patch("/api/auth/users/me/", json={"email": other}, headers=bearer)
    assert refused.status_code == 400
    assert refused.json() == {"error": "Пользователь с таким email уже существует"}

    event = change_event(infra, new)
    confirmed = api.post("/api/auth/users/email_change_confirm/", json={"token": event.token})
    assert confirmed.status_code == 204
    assert api.post("/api/token/", json={"email": new, "password": PASSWORD}).status_code == 200
