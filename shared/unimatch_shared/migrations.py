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
    handed_over = context.config.attributes
    context.configure(
        connection=handed_over["connection"],
        target_metadata=target_metadata,
        compare_type=compare_type,
        version_table_schema=handed_over["schema"],
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


# The DDL helpers below are what past migrations call: a database migrated years ago and one
# migrated today must end with the same schema, so never change what a helper makes — add a
# new helper (or write the DDL out) for a new shape instead.


def identity_key() -> sa.Column[Any]:
    """``id``: a BIGINT primary key the database numbers."""
    return sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)


def given_key(name: str) -> sa.Column[Any]:
    """A BIGINT primary-key column whose values come from elsewhere (a user's id, a round's, a
    chat's), so no sequence numbers it."""
    return sa.Column(name, sa.BigInteger, primary_key=True, autoincrement=False)


def timestamp(name: str, *, nullable: bool = False, **options: Any) -> sa.Column[Any]:
    """A moment: a timestamp with time zone, NOT NULL unless said."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **options)


def cascading_reference(name: str, target: str, **options: Any) -> sa.Column[Any]:
    """A BIGINT reference to ``target`` (``table.column``): its rows go when that row goes."""
    return sa.Column(name, sa.BigInteger, sa.ForeignKey(target, ondelete="CASCADE"), **options)


def create_partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    """An index over only the rows ``where`` selects (an outbox's pending rows, say): small,
    and what the workers that poll them read."""
    op.create_index(name, table, columns, postgresql_where=sa.text(where))


def create_block_table(table: str) -> None:
    """Who blocked whom. A lifted block stays, ``blocked`` false, so a block and its lifting
    apply in any arrival order (``changed_at``). Matching and profile each keep one."""
    op.create_table(
        table,
        given_key("user_id"),
        given_key("blocked_user_id"),
        sa.Column("blocked", sa.Boolean, nullable=False),
        timestamp("changed_at"),
    )
    op.create_index(f"ix_{table}_blocked_user_id", table, ["blocked_user_id"])


def create_deleted_account_table(table: str) -> None:
    """The accounts deleted, and when: an event about one that arrives late must not bring the
    person back. Every service keeping data about people has one."""
    op.create_table(table, given_key("user_id"), timestamp("deleted_at"))


def create_messaging_tables() -> None:
    """The outbox and inbox tables (see ``outbox.py``/``inbox.py``); every service has both."""
    op.create_table(
        "outbox_message",
        identity_key(),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        timestamp("created_at"),
        timestamp("published_at", nullable=True),
    )
    create_partial_index("outbox_message_pending", "outbox_message", ["id"], "published_at IS NULL")
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        timestamp("processed_at"),
    )


def drop_messaging_tables() -> None:
    op.drop_table("processed_event")
    op.drop_table("outbox_message")
