"""A change of email through profile's ``me`` (docs/adr/016-password-reset.md): profile asks
auth, shows the address as pending, and takes it on when auth's ``account.email_changed``
arrives. Auth and profile run in-process on one database and NATS namespace; the token a
mail would carry is read from auth's outbox."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from auth_service.main import create_app as create_auth_app
from auth_service.settings import AuthSettings
from profile_service import service
from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.support.helpers import eventually, publish, query
from unimatch_shared.events import AccountEmailChanged
from unimatch_shared.rpc import CreateProfile
from unimatch_shared.sessions import Session

SHARED_SETTINGS = {"database_url", "nats_url", "unimatch_event_prefix", "unimatch_ack_wait_seconds"}
USER_ID = 9
TOKEN = auth("a" * 40)


class SessionOf:
    """Every token is this user's (profile's session check, stubbed)."""

    def __init__(self, user_id: int):
        self.user_id = user_id

    async def verify(self, token: str) -> Session:
        return Session(user_id=self.user_id, is_staff=False)


@pytest.fixture
def settings(service_settings) -> ProfileSettings:
    return ProfileSettings(**service_settings)


@pytest.fixture
async def apps(settings, tmp_path):
    """Auth and profile, user 9 with an account and a profile (``u9@example.com``), and a
    second account holding ``taken@example.com``."""
    auth_settings = AuthSettings(
        **settings.model_dump(include=SHARED_SETTINGS), unimatch_var_dir=tmp_path
    )
    auth_app, app = create_auth_app(auth_settings), create_app(settings)
    async with running_app(auth_app) as auth_client, running_app(app) as client:
        await query(
            settings.database_url,
            "auth",
            "INSERT INTO user_account (id, email, password_hash, is_staff, created_at) "
            "VALUES (9, 'u9@example.com', 'x', false, now()), "
            "(10, 'taken@example.com', 'x', false, now())",
        )
        await service.create_profile(
            app.state.runtime.unit_of_work(),
            CreateProfile(user_id=USER_ID, email="u9@example.com", hobby=[1]),
        )
        # As user.registered would have it: a confirmed profile is announced to matching.
        await query(settings.database_url, "profile", "UPDATE profile SET confirmed = true")
        app.state.token_verifier = SessionOf(USER_ID)
        yield auth_client, client


async def mailed_tokens(settings) -> list[dict]:
    rows = await query(
        settings.database_url,
        "auth",
        "SELECT payload FROM outbox_message WHERE subject = 'email_change.requested' ORDER BY id",
    )
    return [json.loads(p) if isinstance(p, str) else p for (p,) in rows]


async def test_the_email_changes_only_when_the_mailed_link_is_followed(apps, settings):
    auth_client, client = apps
    edited = await client.patch(
        "/users/api/me/",
        json={"email": "New.Address@Example.com", "first_name": "Вера"},
        headers=TOKEN,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["email"], edited.json()["pending_email"]) == (
        "u9@example.com",
        "new.address@example.com",
    )
    assert edited.json()["first_name"] == "Вера"
    me = (await client.get("/users/api/me/", headers=TOKEN)).json()
    assert (me["email"], me["pending_email"]) == ("u9@example.com", "new.address@example.com")

    (mail,) = await mailed_tokens(settings)
    confirmed = await auth_client.post(
        "/users/api/email-change/confirm/", json={"token": mail["token"]}
    )
    assert confirmed.status_code == 204

    async def changed():
        me = (await client.get("/users/api/me/", headers=TOKEN)).json()
        return me if me["email"] != "u9@example.com" else None

    me = await eventually(changed, "the new email in profile")
    assert (me["email"], me["pending_email"]) == ("new.address@example.com", None)
    announced = await query(
        settings.database_url,
        "profile",
        "SELECT payload::jsonb ->> 'email' FROM outbox_message "
        "WHERE subject = 'profile.changed' ORDER BY id DESC LIMIT 1",
    )
    assert announced == [("new.address@example.com",)]


async def test_a_pending_email_is_no_longer_shown_once_its_link_expired(apps, settings):
    _, client = apps
    edited = await client.patch("/users/api/me/", json={"email": "x@example.com"}, headers=TOKEN)
    assert edited.json()["pending_email"] == "x@example.com"
    await query(
        settings.database_url,
        "profile",
        "UPDATE profile SET pending_email_until = now() - interval '1 second'",
    )
    assert (await client.get("/users/api/me/", headers=TOKEN)).json()["pending_email"] is None
    renamed = await client.patch("/users/api/me/", json={"first_name": "Ия"}, headers=TOKEN)
    assert renamed.json()["pending_email"] is None


async def test_a_refused_email_changes_nothing(apps, settings):
    _, client = apps
    for email, errors in [
        ("taken@example.com", {"email": ["user with this email already exists."]}),
        ("not-an-address", {"email": ["Enter a valid email address."]}),
    ]:
        refused = await client.patch(
            "/users/api/me/", json={"email": email, "first_name": "Вера"}, headers=TOKEN
        )
        assert (refused.status_code, refused.json()) == (400, errors)
    me = (await client.get("/users/api/me/", headers=TOKEN)).json()
    assert (me["email"], me["pending_email"], me["first_name"]) == ("u9@example.com", None, "")
    # The account's own email (a form sent back unchanged), or null: nothing to confirm.
    for email in ("U9@example.com", None):
        same = await client.patch("/users/api/me/", json={"email": email}, headers=TOKEN)
        assert (same.status_code, same.json()["pending_email"]) == (200, None)
    assert await mailed_tokens(settings) == []


async def test_too_many_email_changes_are_throttled(apps, settings):
    _, client = apps
    for i in range(3):
        response = await client.patch(
            "/users/api/me/", json={"email": f"n{i}@example.com"}, headers=TOKEN
        )
        assert response.status_code == 200
    throttled = await client.patch(
        "/users/api/me/", json={"email": "n3@example.com"}, headers=TOKEN
    )
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    me = (await client.get("/users/api/me/", headers=TOKEN)).json()
    assert me["pending_email"] == "n2@example.com"


async def test_a_late_email_change_does_not_undo_a_newer_one(apps, settings, js):
    _, client = apps
    prefix = settings.unimatch_event_prefix
    now = datetime.now(UTC)
    await publish(js, prefix, AccountEmailChanged(user_id=USER_ID, email="b@example.com"))

    async def email():
        return (await client.get("/users/api/me/", headers=TOKEN)).json()["email"]

    async def changed():
        return await email() == "b@example.com"

    await eventually(changed)
    late = AccountEmailChanged(
        user_id=USER_ID, email="a@example.com", occurred_at=now - timedelta(minutes=1)
    )
    await publish(js, prefix, late)

    async def applied():
        rows = await query(
            settings.database_url,
            "profile",
            "SELECT count(*) FROM processed_event WHERE event_id = %s",
            late.event_id,
        )
        return rows[0][0] == 1

    await eventually(applied)
    assert await email() == "b@example.com"
