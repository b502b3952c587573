import json

import pytest
from pydantic import ValidationError

from unimatch_shared.consumers import MAX_RETRY_DELAY_SECONDS, failure_reason, retry_delay
from unimatch_shared.db import make_engine
from unimatch_shared.events import UserRegistered
from unimatch_shared.settings import ServiceSettings


def test_retry_delays_grow_and_cap():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert delays == sorted(delays)
    assert max(delays) == MAX_RETRY_DELAY_SECONDS


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
