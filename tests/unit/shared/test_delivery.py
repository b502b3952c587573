import json

import nats.errors
import psycopg
import psycopg_pool
import pytest
import sqlalchemy.exc
from pydantic import ValidationError

from unimatch_shared.consumers import (
    MAX_RETRY_DELAY_SECONDS,
    dead_letter_horizon,
    failure_reason,
    is_transient,
    retry_delay,
)
from unimatch_shared.db import make_engine
from unimatch_shared.errors import APIError, ServiceUnavailable
from unimatch_shared.events import UserRegistered
from unimatch_shared.settings import ServiceSettings


def test_retry_delays_grow_and_cap():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert delays == sorted(delays)
    assert max(delays) == MAX_RETRY_DELAY_SECONDS


def test_retry_delays_take_their_cap_from_the_settings_and_never_overflow():
    assert [retry_delay(n, cap=2.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert retry_delay(10_000) == MAX_RETRY_DELAY_SECONDS


def test_the_old_dead_letter_horizon_was_about_three_minutes():
    """What the issue saw: ten deliveries of a failing event span ~3 minutes, so a longer
    outage parked everything in flight; infrastructure failures no longer count."""
    assert 180 < dead_letter_horizon(10) < 190
    assert dead_letter_horizon(3, cap=2.0) == 1.5
    assert dead_letter_horizon(1) == 0


def _raised_from(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise RuntimeError("while handling the event") from exc
    except RuntimeError as wrapped:
        return wrapped


def _refused_from_none(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException:
            raise ValueError("the handler refuses this event") from None
    except ValueError as refusal:
        return refusal


def _sqlalchemy(error_class, orig: Exception, invalidated: bool = False):
    return error_class("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        psycopg.OperationalError("connection failed"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
        psycopg_pool.PoolTimeout("couldn't get a connection after 2.00 sec"),
        _sqlalchemy(sqlalchemy.exc.OperationalError, psycopg.OperationalError("refused")),
        _sqlalchemy(sqlalchemy.exc.InterfaceError, psycopg.InterfaceError("closed")),
        sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
        _sqlalchemy(sqlalchemy.exc.DBAPIError, Exception("server closed"), invalidated=True),
        nats.errors.TimeoutError(),
        nats.errors.NoRespondersError(),
        nats.errors.ConnectionClosedError(),
        ServiceUnavailable(),
        _raised_from(psycopg.OperationalError("connection failed")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_infrastructure_failures_are_retried_without_limit(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("the handler refuses this event"),
        APIError(404, {"detail": "Not found."}),
        _sqlalchemy(sqlalchemy.exc.IntegrityError, psycopg.errors.UniqueViolation("dup")),
        _sqlalchemy(sqlalchemy.exc.DataError, psycopg.errors.NumericValueOutOfRange("big")),
        KeyError("user_id"),
        _refused_from_none(psycopg.OperationalError("connection failed")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_failures_retrying_cannot_fix_count_toward_dead_lettering(error):
    assert not is_transient(error)


def test_database_url_uses_psycopg3():
    settings = ServiceSettings(database_url="postgresql://u@h:1/db")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h:1/db"
    settings = ServiceSettings(database_url="postgres://u@h/db?host=/tmp")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db?host=/tmp"


def test_empty_environment_variables_mean_default(monkeypatch):
    monkeypatch.setenv("PORT", "")
    assert ServiceSettings().port == 8000


def test_a_dead_letter_reason_says_what_failed_not_whose_data():
    with pytest.raises(ValidationError) as caught:
        UserRegistered.model_validate(
            {"user_id": "anna.smirnova@example.com", "email": ["anna.smirnova@example.com"]}
        )
    reason = failure_reason(caught.value)
    assert reason.startswith("ValidationError: user_id: int_parsing")
    assert "anna" not in reason and "example.com" not in reason


def test_a_dead_letter_reason_for_unparsable_bytes_gives_the_position():
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads("this is not JSON")
    assert failure_reason(caught.value) == ("JSONDecodeError: Expecting value at line 1 column 1")
    with pytest.raises(UnicodeDecodeError) as caught:
        b"\xffanna".decode()
    assert failure_reason(caught.value) == "UnicodeDecodeError: invalid start byte"


def test_any_other_failure_is_named_by_its_kind_only():
    error = ValueError("duplicate key (email)=(anna@example.com)")
    assert failure_reason(error) == "ValueError"


def test_database_errors_do_not_quote_their_parameters():
    engine = make_engine(ServiceSettings(), "auth")
    assert engine.sync_engine.hide_parameters
