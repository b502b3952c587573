"""Idle sessions expire (docs/adr/010, "Idle sessions expire"), here after 3 s instead of 90
days: an unused token stops working everywhere, one in use keeps working, and a renewal
never brings back a session logged out meanwhile."""

import asyncio

import pytest
from sqlalchemy import text

from auth_service import service
from tests.e2e.helpers import auth
from tests.integration.auth.helpers import ADMIN, running_auth, staffed
from unimatch_shared.sessions import Session, token_digest

IDLE_SECONDS = 3.0


@pytest.fixture
async def app(service_settings):
    async with running_auth(
        staffed(
            service_settings,
            unimatch_session_idle_days=IDLE_SECONDS / 86400,
        )
    ) as app:
        yield app


async def log_in(app) -> str:
    response = await app.client.post("/auth/token/login/", json=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def rows(app, token: str) -> int:
    async with app.state.runtime.engine.connect() as connection:
        return await connection.scalar(
            text("SELECT count(*) FROM auth_token WHERE digest = :d"), {"d": token_digest(token)}
        )


async def test_an_unused_session_expires_everywhere(app):
    store = app.state.runtime.live_sessions
    token = await log_in(app)
    assert await store.verify(token) == Session(user_id=1, is_staff=True)
    await asyncio.sleep(IDLE_SECONDS + 1.5)
    assert await store.verify(token) is None
    logout = await app.client.post("/auth/token/logout/", headers=auth(token))
    assert logout.status_code == 401
    assert await rows(app, token) == 0  # auth forgot it too


async def test_a_session_in_use_does_not_expire(app):
    store = app.state.runtime.live_sessions
    token = await log_in(app)
    for _ in range(12):  # 6 s of use, twice the idle time
        await asyncio.sleep(0.5)
        assert await store.verify(token) == Session(user_id=1, is_staff=True)
    assert await rows(app, token) == 1


async def test_a_late_renewal_does_not_bring_back_a_logged_out_session(app):
    runtime = app.state.runtime
    token = await log_in(app)
    await asyncio.sleep(0.5)  # old enough to be renewed
    assert (await app.client.post("/auth/token/logout/", headers=auth(token))).status_code == 204
    renewed = await service.renew_session(
        runtime.unit_of_work(), runtime.live_sessions, token_digest(token)
    )
    assert not renewed
    assert await runtime.live_sessions.verify(token) is None


async def test_an_existing_bucket_gets_the_idle_timeout(app, js):
    """A bucket made before sessions expired (no max age) is given one at auth's start."""
    store = app.state.runtime.live_sessions
    stream = f"KV_{store.bucket}"
    config = (await js.stream_info(stream)).config
    assert config.max_age == IDLE_SECONDS
    config.max_age = 0
    await js.update_stream(config)
    await store.apply_idle_timeout()
    assert (await js.stream_info(stream)).config.max_age == IDLE_SECONDS
