"""Login throttling in-process against real PostgreSQL (docs/adr/009-login-throttling.md):
what the pure policy cannot show — how attempts are recorded, keyed and serialised.

The app runs behind httpx's ASGI transport, whose peer is 127.0.0.1 (a trusted proxy), so
each request names its client with ``X-Real-IP`` as the gateway would.
"""

import pytest

from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app

OWNER = {"email": "owner@example.com", "password": "owner-password-1"}
WRONG = {"email": OWNER["email"], "password": "wrong-guess"}


@pytest.fixture
def settings(service_settings) -> AuthSettings:
    return AuthSettings(
        **service_settings,
        unimatch_admin_email=OWNER["email"],
        unimatch_admin_password=OWNER["password"],
    )


@pytest.fixture
async def client(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        client.app = app
        yield client


async def log_in(client, body, address, **headers):
    return await client.post(
        "/auth/token/login/", json=body, headers={"X-Real-IP": address, **headers}
    )


async def test_an_ipv6_host_is_one_client_whichever_address_of_its_64_it_uses(client):
    for i in range(5):
        assert (await log_in(client, WRONG, f"2001:db8:7:1::{i + 1}")).status_code == 400
    # A sixth address of the same /64 is the same client: that pair is locked out ...
    assert (await log_in(client, OWNER, "2001:db8:7:1:ffff::9")).status_code == 429
    # ... while the next /64 is another client.
    assert (await log_in(client, OWNER, "2001:db8:7:2::1")).status_code == 201
