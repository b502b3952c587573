"""Refresh-token families (auth_service.domain.refresh; docs/adr/015)."""

from datetime import UTC, datetime, timedelta

import pytest

from auth_service.domain.refresh import (
    TOKEN_PATTERN,
    Outcome,
    TokenState,
    chain_secret,
    decide,
    first_token,
    successor,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=10)
LATER = NOW + timedelta(days=7)


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (None, Outcome.REFUSE),
        (TokenState(LATER, None, session_ended=False), Outcome.ROTATE),
        (TokenState(LATER, NOW - timedelta(seconds=3), False), Outcome.REPLAY),
        (TokenState(LATER, NOW - GRACE, False), Outcome.REPLAY),
        (TokenState(LATER, NOW - GRACE - timedelta(seconds=1), False), Outcome.REVOKE),
        (TokenState(LATER, None, session_ended=True), Outcome.REFUSE),
        (TokenState(LATER, NOW - timedelta(days=1), session_ended=True), Outcome.REFUSE),
        (TokenState(NOW, None, False), Outcome.REFUSE),
        (TokenState(NOW - timedelta(1), NOW - timedelta(days=2), False), Outcome.REVOKE),
    ],
)
def test_decide(state, outcome):
    assert decide(state, NOW, GRACE) is outcome


def test_successors_are_deterministic_per_secret_and_well_formed():
    secret, other = chain_secret(b"a" * 32), chain_secret(b"b" * 32)
    token = first_token()
    assert TOKEN_PATTERN.fullmatch(token)
    assert successor(secret, token) == successor(secret, token)
    assert TOKEN_PATTERN.fullmatch(successor(secret, token))
    assert successor(secret, token) != successor(other, token)
    assert successor(secret, token) != token
    assert first_token() != token
