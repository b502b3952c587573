"""Each service's migrations, applied to an empty schema, create exactly what its models
describe: Alembic's autogenerate finds nothing to add, drop or change (column types and
nullability, indexes, unique constraints, foreign keys).

Server defaults are not compared: migrations set some (``paused``, names) so that adding a
column fills existing rows, where the models give the value in Python.
"""

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from unimatch_shared.db import migrations_of, run_migrations
from unimatch_shared.migrations import compare_type, service_metadata
from unimatch_shared.settings import ServiceSettings

SERVICES = ["auth", "profile", "matching", "notifier"]


def schema_drift(settings: ServiceSettings, schema: str, tables) -> list:
    """What autogenerate would write for ``schema`` to match the models: [] when in step."""
    engine = create_engine(
        settings.sqlalchemy_url, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
            return compare_metadata(context, service_metadata(tables))
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_create_what_the_models_describe(service_settings, service):
    tables = importlib.import_module(f"{service}_service.adapters.db.tables")
    settings = ServiceSettings(**service_settings)
    run_migrations(settings, service, migrations_of(service))
    assert schema_drift(settings, service, tables) == []


def test_drift_is_found(service_settings):
    """The check can fail: a missing column, a string length and a time zone are each found."""
    tables = importlib.import_module("matching_service.adapters.db.tables")
    settings = ServiceSettings(**service_settings)
    run_migrations(settings, "matching", migrations_of("matching"))
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "ALTER TABLE matching.participant DROP COLUMN paused_until,"
            " ALTER COLUMN email TYPE varchar(10),"
            " ALTER COLUMN changed_at TYPE timestamp without time zone"
        )
    engine.dispose()
    found = set()
    for change in schema_drift(settings, "matching", tables):
        for step in change if isinstance(change, list) else [change]:
            found.add((step[0], getattr(step[3], "name", step[3])))  # a Column or a name
    assert found == {
        ("add_column", "paused_until"),
        ("modify_type", "email"),
        ("modify_type", "changed_at"),
    }
