"""Auth in-process against real PostgreSQL and NATS: the shared session store it keeps
(docs/adr/010), and what a sign-up costs when the email is taken (docs/adr/012)."""

import asyncio
import time

import pytest
from sqlalchemy import text

from auth_service import service
from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.integration.auth.helpers import ADMIN, staffed
from unimatch_shared.sessions import Session


@pytest.fixture
def settings(service_settings) -> AuthSettings:
    return staffed(service_settings)


async def log_in(client) -> str:
    response = await client.post("/auth/token/login/", json=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def test_sessions_are_written_and_revoked_in_the_store(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        store = app.state.runtime.live_sessions
        token = await log_in(client)
        assert await store.verify(token) == Session(user_id=1, is_staff=True)

        assert (await client.post("/auth/token/logout/", headers=auth(token))).status_code == 204
        assert await store.verify(token) is None


async def test_a_lost_store_is_refilled_from_the_database_without_revoked_sessions(settings, js):
    app = create_app(settings)
    async with running_app(app) as client:
        kept, revoked = await log_in(client), await log_in(client)
        assert (await client.post("/auth/token/logout/", headers=auth(revoked))).status_code == 204
        bucket = app.state.runtime.live_sessions.bucket
    await js.delete_key_value(bucket)  # JetStream's data lost

    restarted = create_app(settings)
    async with running_app(restarted) as client:
        store = restarted.state.runtime.live_sessions
        assert await store.verify(kept) == Session(user_id=1, is_staff=True)
        assert await store.verify(revoked) is None
        assert (await client.post("/auth/token/logout/", headers=auth(kept))).status_code == 204


async def test_workers_starting_at_once_create_the_admin_once(settings):
    """Every worker of a new deployment runs the admin bootstrap; the first to commit wins and
    the rest find its account (a unique-key error here once stopped the whole service)."""
    app = create_app(settings)
    async with running_app(app) as client:
        runtime = app.state.runtime
        new_admin = {"email": "second-staff@example.com", "password": "staff-password-2"}
        await asyncio.gather(
            *(
                service.ensure_admin(runtime.unit_of_work(), runtime.live_sessions, **new_admin)
                for _ in range(4)
            )
        )
        assert (await client.post("/auth/token/login/", json=new_admin)).status_code == 201
        async with runtime.engine.connect() as connection:
            accounts = await connection.scalar(
                text("SELECT count(*) FROM user_account WHERE email = :email"), new_admin
            )
            announced = await connection.scalar(
                text(
                    "SELECT count(*) FROM outbox_message WHERE subject = 'user.registered'"
                    " AND payload::jsonb ->> 'email' = :email"
                ),
                new_admin,
            )
    assert (accounts, announced) == (1, 1)


class CountingPasswordWork:
    """Wraps the real hashing threads and counts what they were asked to do."""

    def __init__(self, real):
        self.real = real
        self.calls = 0

    async def run(self, work, *args, **options):
        self.calls += 1
        return await self.real.run(work, *args, **options)


async def test_a_taken_email_is_refused_before_any_hashing_and_paced(settings):
    """The refusal costs no Argon2 time, and its answer is held back like a hashing sign-up's,
    so a client retrying in a loop is paced by the clock, not by auth's CPU."""
    app = create_app(settings)
    async with running_app(app) as client:
        counting = CountingPasswordWork(app.state.passwords)
        app.state.passwords = counting
        started = time.monotonic()
        response = await client.post(
            "/users/api/register/", json={"email": ADMIN["email"].upper(), "password": "x-123456"}
        )
        assert time.monotonic() - started >= service.TAKEN_EMAIL_PAUSE_SECONDS
        assert response.status_code == 400
        assert response.json() == {"email": ["user with this email already exists."]}
        assert counting.calls == 0

        await log_in(client)
        assert counting.calls == 1


async def test_a_login_queued_behind_the_same_accounts_check_is_shed_not_kept_waiting(settings):
    """Logins of one account take turns at the throttle check; one that cannot get its turn
    within LOGIN_QUEUE_SECONDS answers 503 with Retry-After (docs/adr/012)."""
    app = create_app(settings)
    async with running_app(app) as client:
        async with service._LOGIN_LOCKS.hold(ADMIN["email"], wait=1):
            shed = await client.post("/auth/token/login/", json=ADMIN)
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "1"
        assert shed.json() == {"detail": "Too many logins at once, try again shortly."}
        await log_in(client)  # its turn came: nothing was recorded against the account
