"""Hostile callers through the gateway: login throttling (docs/adr/009-login-throttling.md),
what failed logins and registrations reveal, stale Telegram logins.

Covered elsewhere, not repeated here:
- tokens and passwords stored only hashed: tests/e2e/test_contract.py
  ``test_tokens_and_passwords_are_stored_only_hashed``;
- a forged identity header, or a call straight to a service's port, is no user:
  ``test_forged_identity_header_is_not_a_user`` (same file);
- logout revokes the token at once, everywhere: ``test_logout_revokes_only_that_token_everywhere``;
- constant-time comparisons: see docs/adr/009-login-throttling.md, "Related".

Each test calls from loopback addresses of its own (127.x.y.z), so the gateway sees distinct
clients and no test's failures count against another's.
"""

import re
import secrets
import time
from contextlib import contextmanager
from http.cookies import SimpleCookie

import httpx

from tests.e2e.helpers import auth, new_email, register
from tests.support.telegram_stub import login_widget_data

PASSWORD = "pa55word"  # what helpers.register gives every user
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}
THROTTLED = re.compile(r"Request was throttled\. Expected available in (\d+) seconds?\.")


@contextmanager
def client_at(stack):
    """An httpx client whose connections come from a fresh loopback address."""
    address = (
        f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    )
    transport = httpx.HTTPTransport(local_address=address)
    base_url = f"http://127.0.0.1:{stack.gateway_port}"
    with httpx.Client(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


def log_in(client, email, password, **headers):
    return client.post(
        "/auth/token/login/", json={"email": email, "password": password}, headers=headers
    )


def wait_of(response) -> int:
    """The 429's wait, checked to agree between the body (DRF's wording) and Retry-After."""
    assert response.status_code == 429, response.text
    match = THROTTLED.fullmatch(response.json()["detail"])
    assert match and set(response.json()) == {"detail"}, response.text
    assert response.headers["Retry-After"] == match[1]
    return int(match[1])


def test_five_failures_lock_that_address_out_of_that_account(api, stack):
    email = register(api)["user"]["email"]
    with client_at(stack) as guesser, client_at(stack) as owner:
        for _ in range(5):
            assert log_in(guesser, email, "wrong-guess").json() == BAD_CREDENTIALS
        # Even the right password is refused now, from that address; for up to 15 minutes.
        assert 0 < wait_of(log_in(guesser, email, PASSWORD)) <= 15 * 60
        # The owner, elsewhere, is not locked out.
        assert log_in(owner, email, PASSWORD).status_code == 201


def test_a_successful_login_forgets_that_address_failures(api, stack):
    email = register(api)["user"]["email"]
    with client_at(stack) as client:
        for _ in range(4):
            assert log_in(client, email, "typo-typo").status_code == 400
        assert log_in(client, email, PASSWORD).status_code == 201
        for _ in range(4):
            assert log_in(client, email, "typo-again").status_code == 400
        assert log_in(client, email, PASSWORD).status_code == 201


def test_one_address_trying_many_accounts_is_throttled(stack):
    with client_at(stack) as sprayer, client_at(stack) as neighbour:
        for _ in range(50):
            assert log_in(sprayer, new_email(), "password1").status_code == 400
        assert wait_of(log_in(sprayer, new_email(), "password1")) > 0
        assert log_in(neighbour, new_email(), "password1").status_code == 400


def test_many_addresses_on_one_account_only_slow_the_owner_down_briefly(api, stack):
    email = register(api)["user"]["email"]
    failures, throttled = 0, None
    while throttled is None and failures < 20:
        with client_at(stack) as guesser:
            response = log_in(guesser, email, "wrong-guess")
        if response.status_code == 429:
            throttled = response
        else:
            assert response.status_code == 400
            failures += 1
    assert failures >= 10, "ten failures from different addresses are free"
    wait = wait_of(throttled)
    assert wait <= 60
    time.sleep(wait)
    with client_at(stack) as owner:
        assert log_in(owner, email, PASSWORD).status_code == 201


def test_the_owners_device_gets_in_while_guessers_keep_the_account_backed_off(api, stack):
    email = register(api)["user"]["email"]
    with client_at(stack) as owner:
        first = log_in(owner, email, PASSWORD)
    assert first.status_code == 201
    device = SimpleCookie(first.headers["set-cookie"])["unimatch_device"].value
    for _ in range(20):  # guessers elsewhere, one address each, until it is backed off
        with client_at(stack) as guesser:
            response = log_in(guesser, email, "wrong-guess")
        if response.status_code == 429:
            break
    wait_of(response)
    with client_at(stack) as stranger:
        wait_of(log_in(stranger, email, PASSWORD))
    with client_at(stack) as owner:
        again = log_in(owner, email, PASSWORD, Cookie=f"unimatch_device={device}")
    assert again.status_code == 201, again.text


def test_a_client_cannot_choose_its_own_address(api, stack):
    email = register(api)["user"]["email"]
    with client_at(stack) as guesser:
        for i in range(5):
            forged = {"X-Real-IP": f"198.51.100.{i}", "X-Forwarded-For": f"203.0.113.{i}"}
            assert log_in(guesser, email, "wrong-guess", **forged).status_code == 400
        wait_of(log_in(guesser, email, PASSWORD, **{"X-Real-IP": "198.51.100.99"}))


def test_unknown_email_and_wrong_password_look_the_same(api, stack):
    email = register(api)["user"]["email"]
    with client_at(stack) as client:
        answers = [
            log_in(client, email, "wrong-guess"),
            log_in(client, new_email(), "wrong-guess"),
            log_in(client, "not an email", "wrong-guess"),
        ]
    varying = {"date", "x-request-id"}
    for response in answers:
        assert response.status_code == 400
        assert response.json() == BAD_CREDENTIALS
        assert set(response.headers) - varying == set(answers[0].headers) - varying


def test_registration_reveals_only_the_user_and_the_token(api):
    created = api.post("/users/api/register/", json={"email": new_email(), "password": PASSWORD})
    assert set(created.json()) == {"user", "token"}
    user = created.json()["user"]
    assert {"id", "email", "hobby"} <= set(user)
    assert not any(word in key for key in user for word in ("password", "hash", "staff"))
    assert PASSWORD not in created.text


def test_telegram_login_older_than_a_day_is_refused(api):
    token = register(api)["token"]
    stale = login_widget_data(7_100_001, auth_date=int(time.time()) - 24 * 3600 - 60)
    refused = api.post("/users/api/tg-auth/", headers=auth(token), json=stale)
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": ["Telegram authorization is invalid or expired."]}
    assert api.get("/users/api/me/", headers=auth(token)).json()["chat_id"] is None
