"""Chat links, link codes, members and matches (read models), message outbox, outbox, inbox."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "chat_link",
        shared.given_key("user_id"),
        sa.Column("chat_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("username", sa.String(64), nullable=True),
        shared.timestamp("linked_at"),
    )
    op.create_table(
        "link_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        shared.timestamp("expires_at"),
        shared.timestamp("used_at", nullable=True),
    )
    op.create_table(
        "member",
        shared.given_key("user_id"),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("first_name", sa.String(150), nullable=False),
        sa.Column("last_name", sa.String(150), nullable=False),
        shared.timestamp("changed_at"),
    )
    op.create_table(
        "pair_view",
        shared.identity_key(),
        sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("round_id", sa.BigInteger, nullable=False),
        sa.Column("group_id", sa.BigInteger, nullable=False),
        shared.timestamp("created_at"),
        sa.Column("partners", sa.JSON, nullable=False),
        sa.Column("shared_hobbies", sa.JSON, nullable=False),
        sa.UniqueConstraint("group_id", "user_id"),
    )
    op.create_table(
        "outgoing_message",
        shared.identity_key(),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        shared.timestamp("created_at"),
        shared.timestamp("sent_at", nullable=True),
    )
    shared.create_partial_index(
        "outgoing_message_pending", "outgoing_message", ["id"], "status = 'pending'"
    )
    shared.create_messaging_tables()


def downgrade() -> None:
    shared.drop_messaging_tables()
    for table in ("outgoing_message", "pair_view", "member", "link_code", "chat_link"):
        op.drop_table(table)
