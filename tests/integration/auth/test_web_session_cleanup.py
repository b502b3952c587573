"""Web sessions that are over leave auth's tables; live ones, and their spent tokens (which
reuse detection needs), stay (docs/adr/015)."""

import pytest
from sqlalchemy import text

from auth_service.web_sessions import forget_finished_web_sessions
from tests.integration.auth.helpers import ADMIN, running_auth, staffed


@pytest.fixture
async def app(service_settings, tmp_path):
    async with running_auth(
        staffed(
            service_settings,
            unimatch_var_dir=tmp_path,
        )
    ) as app:
        yield app


async def log_in(app) -> str:
    response = await app.client.post("/api/token/", json=ADMIN)
    assert response.status_code == 200, response.text
    return response.cookies["refresh_token"]


async def count(app, table: str) -> int:
    async with app.state.runtime.engine.connect() as connection:
        return await connection.scalar(text(f"SELECT count(*) FROM {table}"))


async def test_ended_and_expired_sessions_are_forgotten(app):
    ended, expired, live = await log_in(app), await log_in(app), await log_in(app)
    rotated = await app.client.post(
        "/api/token/refresh/", headers={"Cookie": f"refresh_token={live}"}
    )
    assert rotated.status_code == 200
    assert (await app.client.post("/api/token/blacklist/", json={"refresh": ended})).json() == {}
    async with app.state.runtime.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE refresh_token SET expires_at = now() - interval '1 second' "
                "WHERE session_id = (SELECT max(session_id) FROM refresh_token "
                "WHERE session_id < (SELECT max(session_id) FROM refresh_token))"
            )
        )
    assert (await count(app, "web_session"), await count(app, "refresh_token")) == (3, 4)
    assert await forget_finished_web_sessions(app.state.runtime.unit_of_work()) == 2
    assert (await count(app, "web_session"), await count(app, "refresh_token")) == (1, 2)
    # The live session keeps working; the forgotten ones are refused like ended ones.
    current = rotated.cookies["refresh_token"]
    again = await app.client.post(
        "/api/token/refresh/", headers={"Cookie": f"refresh_token={current}"}
    )
    assert again.status_code == 200
    for cookie in (ended, expired):
        gone = await app.client.post(
            "/api/token/refresh/", headers={"Cookie": f"refresh_token={cookie}"}
        )
        assert gone.status_code == 401
