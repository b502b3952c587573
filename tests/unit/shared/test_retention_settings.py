"""Retention settings: an inbox row must outlive every redelivery of its event (docs/adr/007)."""

import pytest
from pydantic import ValidationError

from unimatch_shared.settings import EVENT_STREAM_MAX_AGE_DAYS, ServiceSettings


def test_retention_defaults_keep_inbox_rows_as_long_as_the_stream_keeps_events():
    settings = ServiceSettings()
    assert settings.unimatch_outbox_retention_days == 7
    assert settings.unimatch_inbox_retention_days == EVENT_STREAM_MAX_AGE_DAYS == 90
    assert settings.unimatch_retention_interval_seconds == 3600


def test_an_inbox_retention_shorter_than_the_stream_keeps_events_is_refused(monkeypatch):
    monkeypatch.setenv("UNIMATCH_INBOX_RETENTION_DAYS", "30")
    with pytest.raises(ValidationError, match="UNIMATCH_INBOX_RETENTION_DAYS must be at least 90"):
        ServiceSettings()


def test_an_inbox_retention_shorter_than_the_outbox_retention_is_refused():
    with pytest.raises(ValidationError, match="at least 120"):
        ServiceSettings(unimatch_outbox_retention_days=120, unimatch_inbox_retention_days=100)
    settings = ServiceSettings(
        unimatch_outbox_retention_days=120, unimatch_inbox_retention_days=120
    )
    assert settings.unimatch_inbox_retention_days == 120
