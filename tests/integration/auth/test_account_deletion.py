"""``DeleteAccount`` (the bot's /leave): auth deletes the account, ends its seed and web
sessions, and publishes ``account.deleted`` with the deletion."""

import pytest

from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.integration.auth.helpers import ADMIN, staffed
from tests.support.helpers import query
from unimatch_shared.events import AccountDeleted
from unimatch_shared.rpc import DeleteAccount, DeleteAccountReply


@pytest.fixture
def settings(service_settings) -> AuthSettings:
    return staffed(service_settings)


async def test_deleting_an_account_ends_every_session_and_is_published_once(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        runtime = app.state.runtime
        seed = [(await client.post("/auth/token/login/", json=ADMIN)).json()["token"]]
        seed.append((await client.post("/auth/token/login/", json=ADMIN)).json()["token"])
        web = await client.post("/api/token/", json=ADMIN)
        assert web.status_code == 200, web.text
        assert all([await runtime.live_sessions.verify(token) for token in seed])

        ask = DeleteAccount(user_id=1)
        assert await runtime.messaging.request(ask) == DeleteAccountReply(deleted=True)
        assert [await runtime.live_sessions.verify(token) for token in seed] == [None, None]
        assert (await client.post("/auth/token/logout/", headers=auth(seed[0]))).status_code == 401
        refreshed = await client.post("/api/token/refresh/")  # the login's cookie
        assert refreshed.status_code == 401
        login = await client.post("/auth/token/login/", json=ADMIN)
        assert login.status_code == 400

        again = await runtime.messaging.request(ask)
        assert again == DeleteAccountReply(deleted=False)
        missing = await runtime.messaging.request(DeleteAccount(user_id=999))
        assert missing == DeleteAccountReply(deleted=False)

    left = await query(
        settings.database_url,
        "auth",
        "SELECT (SELECT count(*) FROM user_account) + (SELECT count(*) FROM auth_token)"
        " + (SELECT count(*) FROM web_session) + (SELECT count(*) FROM refresh_token)"
        " + (SELECT count(*) FROM trusted_device) + (SELECT count(*) FROM mailed_token)",
    )
    assert left == [(0,)]
    announced = await query(
        settings.database_url,
        "auth",
        "SELECT payload FROM outbox_message WHERE subject = %s",
        AccountDeleted.SUBJECT,
    )
    assert [AccountDeleted.model_validate_json(p).user_id for (p,) in announced] == [1]
