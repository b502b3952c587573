"""Blocks (with lifted ones kept as ``blocked`` false), meeting feedback for the rounds'
stats, and deleted accounts.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "block",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("blocked_user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_block_blocked_user_id", "block", ["blocked_user_id"])
    op.create_table(
        "meeting_feedback",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("round_id", sa.BigInteger, sa.ForeignKey("match_round.id"), primary_key=True),
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("match_group.id"), primary_key=True),
        sa.Column("met", sa.Text, nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_meeting_feedback_round_id", "meeting_feedback", ["round_id"])
    op.create_table(
        "deleted_account",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deleted_account")
    op.drop_table("meeting_feedback")
    op.drop_table("block")
