"""Alembic plumbing every service's ``migrations/env.py`` calls, so none repeats it."""

from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from unimatch_shared.inbox import ProcessedEvent
from unimatch_shared.outbox import OutboxMessage


def service_metadata(tables: ModuleType) -> sa.MetaData:
    """What a service's migrations must create: every table its ``tables`` module defines,
    with the outbox and inbox, in a MetaData of their own. (SQLModel keeps every table in one
    MetaData, and one process, the tests, imports all four services.)"""
    metadata = sa.MetaData()
    for value in vars(tables).values():
        if (
            isinstance(value, type)
            and issubclass(value, SQLModel)
            and value.__module__ == tables.__name__
            and hasattr(value, "__table__")
        ):
            value.__table__.to_metadata(metadata)
    shared_models: tuple[type[SQLModel], ...] = (OutboxMessage, ProcessedEvent)
    for model in shared_models:
        # SQLModel sets __table__ on table=True models but does not declare it.
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def compare_type(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison (None: let it decide), plus two differences it lets pass: a
    string length the schema has and the model lacks (or the reverse), and timestamps with
    time zone against ones without."""
    metadata_type = getattr(metadata_type, "impl_instance", metadata_type)  # AutoString, UTC…
    for kind, attribute in ((sa.String, "length"), (sa.DateTime, "timezone")):
        if (
            isinstance(inspected_type, kind)
            and isinstance(metadata_type, kind)
            and getattr(inspected_type, attribute) != getattr(metadata_type, attribute)
        ):
            return True
    return None


def run_alembic_env(target_metadata: sa.MetaData) -> None:
    """Run migrations on the connection ``db.run_migrations`` hands over, in its schema.

    ``target_metadata`` (``service_metadata``) is what autogenerate compares the schema with;
    tests/integration/test_migrations.py checks that the migrations leave nothing to add.
    """
    connection = context.config.attributes["connection"]
    schema = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=compare_type,
        version_table_schema=schema,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables() -> None:
    """The outbox and inbox tables (see ``outbox.py``/``inbox.py``); every service has both."""
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "outbox_message_pending",
        "outbox_message",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_messaging_tables() -> None:
    op.drop_table("processed_event")
    op.drop_table("outbox_message")
