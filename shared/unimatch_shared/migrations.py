"""Alembic plumbing every service's ``migrations/env.py`` calls, so none repeats it."""

import sqlalchemy as sa
from alembic import context, op


def run_alembic_env() -> None:
    """Run migrations on the connection ``db.run_migrations`` hands over, in its schema."""
    connection = context.config.attributes["connection"]
    schema = context.config.attributes["schema"]
    context.configure(
        connection=connection,
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
