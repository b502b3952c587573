"""The bot's conversations, meeting follow-ups and blocks; inline keyboards in the message
outbox (docs/adr/020-telegram-conversations.md).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("outgoing_message", sa.Column("reply_markup", sa.JSON, nullable=True))
    # Messages are sent as HTML from now on: queued plain ones are escaped to read the same.
    op.execute(
        "UPDATE outgoing_message SET text = replace(replace(replace(text, '&', '&amp;'),"
        " '<', '&lt;'), '>', '&gt;') WHERE status = 'pending'"
    )
    op.create_table(
        "conversation",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("draft", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "follow_up",
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("round_id", sa.BigInteger, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("met", sa.String(16), nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("group_id", "user_id"),
    )
    op.create_index(
        "follow_up_due", "follow_up", ["due_at"], postgresql_where=sa.text("status = 'scheduled'")
    )
    op.create_index("follow_up_user", "follow_up", ["user_id"])
    op.create_table(
        "bot_block",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("blocked_user_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "blocked_user_id"),
    )

    op.create_table(
        "handled_update",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handled_update_handled_at", "handled_update", ["handled_at"])


def downgrade() -> None:
    for table in ("handled_update", "bot_block", "follow_up", "conversation"):
        op.drop_table(table)
    op.drop_column("outgoing_message", "reply_markup")
