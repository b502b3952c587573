from unimatch_shared.consumers import MAX_RETRY_DELAY_SECONDS, retry_delay
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
