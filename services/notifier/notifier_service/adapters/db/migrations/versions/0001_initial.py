"""Chat links, deep-link codes, members and matches (read models), the message outbox,
and the event outbox and inbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from unimatch_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "chat_link",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "link_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "member",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("first_name", sa.String(150), nullable=False),
        sa.Column("last_name", sa.String(150), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pair_view",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("round_id", sa.BigInteger, nullable=False),
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("partners", sa.JSON, nullable=False),
        sa.Column("shared_hobbies", sa.JSON, nullable=False),
        sa.UniqueConstraint("group_id", "user_id"),
    )
    op.create_table(
        "outgoing_message",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "outgoing_message_pending",
        "outgoing_message",
        ["id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
    for table in ("outgoing_message", "pair_view", "member", "link_code", "chat_link"):
        op.drop_table(table)
