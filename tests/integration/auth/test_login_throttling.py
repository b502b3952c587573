"""Login throttling in-process against real PostgreSQL (docs/adr/009-login-throttling.md):
what the pure policy cannot show — how attempts are recorded, keyed and serialised.

The app runs behind httpx's ASGI transport, whose peer is 127.0.0.1 (a trusted proxy), so
each request names its client with ``X-Real-IP`` as the gateway would.
"""

import asyncio
from collections import Counter
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import text

from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app
from tests.integration.auth.helpers import staffed

OWNER = {"email": "owner@example.com", "password": "owner-password-1"}
WRONG = {"email": OWNER["email"], "password": "wrong-guess"}


@pytest.fixture
def settings(service_settings) -> AuthSettings:
    return staffed(service_settings, OWNER)


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


async def test_simultaneous_guesses_when_the_email_back_off_opens_let_only_one_through(client):
    for i in range(10):  # ten failures from ten addresses: free, then a 1 s back-off
        assert (await log_in(client, WRONG, f"198.51.100.{i + 1}")).status_code == 400
    await asyncio.sleep(1.2)
    # Twenty guessers at once, each from an address of its own: the back-off lets one try,
    # which moves it on to 2 s; the other nineteen must wait (once, all twenty were checked).
    answers = await asyncio.gather(
        *(log_in(client, WRONG, f"203.0.113.{i + 1}") for i in range(20))
    )
    assert Counter(a.status_code for a in answers) == {400: 1, 429: 19}
    async with client.app.state.runtime.engine.connect() as connection:
        recorded = await connection.scalar(text("SELECT count(*) FROM login_failure"))
    assert recorded == 11


async def test_an_attempt_shed_before_its_password_was_checked_is_not_a_failure(client):
    class Overloaded:
        async def run(self, work, *args, **options):
            from unimatch_shared.errors import ServiceUnavailable

            raise ServiceUnavailable("Too many logins at once, try again shortly.", retry_after=1)

    real, client.app.state.passwords = client.app.state.passwords, Overloaded()
    for _ in range(6):
        assert (await log_in(client, OWNER, "192.0.2.1")).status_code == 503
    client.app.state.passwords = real
    assert (await log_in(client, OWNER, "192.0.2.1")).status_code == 201


def device_cookie(response) -> str:
    """The device cookie a successful login sets: for the login endpoint only, out of
    scripts' reach, never sent cross-site, over HTTPS only."""
    client_cookies = SimpleCookie(response.headers["set-cookie"])
    cookie = client_cookies["unimatch_device"]
    assert (cookie["path"], cookie["samesite"]) == ("/auth/token/login", "strict")
    assert cookie["httponly"] and cookie["secure"] and int(cookie["max-age"]) == 180 * 86400
    return cookie.value


def with_device(device: str) -> dict[str, str]:
    return {"Cookie": f"unimatch_device={device}"}


async def guess_until_backed_off(client):
    """Ten guessers from ten addresses: the email's back-off now renews with each guess."""
    for i in range(10):
        assert (await log_in(client, WRONG, f"198.51.100.{i + 1}")).status_code == 400
    assert (await log_in(client, OWNER, "198.51.100.200")).status_code == 429


async def test_a_device_the_owner_logged_in_from_is_let_past_others_guessing(client):
    first = await log_in(client, OWNER, "192.0.2.10")
    assert first.status_code == 201
    device = device_cookie(first)
    client.cookies.clear()
    await guess_until_backed_off(client)
    # The owner's device gets in, from wherever it is now; the cookie is renewed.
    again = await log_in(client, OWNER, "192.0.2.77", **with_device(device))
    assert again.status_code == 201, again.text
    assert device_cookie(again) == device
    # Anyone else, or a cookie the server never issued, still waits.
    assert (await log_in(client, OWNER, "192.0.2.78")).status_code == 429
    forged = await log_in(client, OWNER, "192.0.2.79", **with_device("0" * 40))
    assert forged.status_code == 429


async def test_a_trusted_device_is_throttled_by_its_own_failures(client):
    device = device_cookie(await log_in(client, OWNER, "192.0.2.10"))
    client.cookies.clear()
    for i in range(5):  # a stolen cookie, used from five addresses
        wrong = await log_in(client, WRONG, f"198.51.100.{i + 1}", **with_device(device))
        assert wrong.status_code == 400
    assert (await log_in(client, OWNER, "198.51.100.9", **with_device(device))).status_code == 429
    # The device's failures do not count against the owner's other devices' addresses.
    assert (await log_in(client, OWNER, "192.0.2.11")).status_code == 201
