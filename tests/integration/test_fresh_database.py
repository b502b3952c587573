"""The one create/drop-database helper the tests, the stack tests and the benchmarks share."""

import psycopg
import pytest

from unimatch_stack.infra import fresh_database, with_database


def exists(server: str, name: str) -> bool:
    with psycopg.connect(server) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (name,))
        return found.fetchone() is not None


def test_a_fresh_database_is_empty_and_dropped_even_while_still_in_use(infra):
    server = with_database(infra.database_url, "postgres")
    with fresh_database(infra.database_url, "helper") as url:
        name = url.rsplit("/", 1)[1]
        assert name.startswith("helper_")
        lingering = psycopg.connect(url)
        tables = lingering.execute(
            "select count(*) from pg_tables where schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)
    assert not exists(server, name)
    with pytest.raises(psycopg.OperationalError):  # disconnected by the drop
        lingering.execute("select 1")
