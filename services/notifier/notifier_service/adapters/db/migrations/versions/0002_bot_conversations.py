"""The bot's conversations, follow-ups and blocks; messages' keyboards (docs/adr/020)."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

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
        shared.given_key("chat_id"),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("draft", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        shared.timestamp("updated_at"),
    )
    op.create_table(
        "follow_up",
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("round_id", sa.BigInteger, nullable=False),
        shared.timestamp("due_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("met", sa.String(16), nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("group_id", "user_id"),
    )
    shared.create_partial_index("follow_up_due", "follow_up", ["due_at"], "status = 'scheduled'")
    op.create_index("follow_up_user", "follow_up", ["user_id"])
    op.create_table(
        "bot_block",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("blocked_user_id", sa.BigInteger, nullable=False),
        shared.timestamp("created_at"),
        sa.PrimaryKeyConstraint("user_id", "blocked_user_id"),
    )

    op.create_table(
        "handled_update",
        shared.given_key("update_id"),
        shared.timestamp("handled_at"),
    )
    op.create_index("ix_handled_update_handled_at", "handled_update", ["handled_at"])


def downgrade() -> None:
    for table in ("handled_update", "bot_block", "follow_up", "conversation"):
        op.drop_table(table)
    op.drop_column("outgoing_message", "reply_markup")
