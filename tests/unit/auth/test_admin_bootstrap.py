"""The bootstrap admin (UNIMATCH_ADMIN_*) obeys the rules a sign-up does, or auth does not
start (issue 14): a staff account is the last one that should have a weak password."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from auth_service.settings import AuthSettings

ADMIN = "admin@example.com"


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        pytest.param("12345678", "This password is entirely numeric.", id="numeric"),
        pytest.param(
            "abc", "This password is too short. It must contain at least 6 characters.", id="short"
        ),
        pytest.param("x" * 129, "Ensure this field has no more than 128 characters.", id="long"),
    ],
)
def test_an_admin_password_breaking_the_policy_is_refused_without_being_shown(password, rule):
    with pytest.raises(ValidationError) as caught:
        AuthSettings(unimatch_admin_email=ADMIN, unimatch_admin_password=password)
    message = str(caught.value)
    assert f"UNIMATCH_ADMIN_PASSWORD does not meet the password policy: {rule}" in message
    assert password not in message


def test_an_admin_email_that_is_no_address_is_refused():
    with pytest.raises(ValidationError, match="UNIMATCH_ADMIN_EMAIL is not an email address"):
        AuthSettings(unimatch_admin_email="admin", unimatch_admin_password="admin-password-1")


def test_a_good_admin_is_accepted_and_no_admin_at_all_too():
    settings = AuthSettings(
        unimatch_admin_email=" Admin@Example.com", unimatch_admin_password="pa55word"
    )
    assert (settings.unimatch_admin_email, settings.unimatch_admin_password) == (ADMIN, "pa55word")
    assert AuthSettings().unimatch_admin_password is None


def test_auth_refuses_to_start_with_a_clear_message():
    env = {**os.environ, "UNIMATCH_ADMIN_EMAIL": ADMIN, "UNIMATCH_ADMIN_PASSWORD": "20252025"}
    started = subprocess.run(
        [sys.executable, "-m", "auth_service"], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert "auth: refusing to start" in started.stderr
    assert "This password is entirely numeric." in started.stderr
    assert "Traceback" not in started.stderr and "20252025" not in started.stderr
