"""Blocks (lifted ones kept as ``blocked`` false), meeting feedback, deleted accounts."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    shared.create_block_table("block")
    op.create_table(
        "meeting_feedback",
        shared.given_key("user_id"),
        sa.Column("round_id", sa.BigInteger, sa.ForeignKey("match_round.id"), primary_key=True),
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("match_group.id"), primary_key=True),
        sa.Column("met", sa.Text, nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=True),
        shared.timestamp("answered_at"),
    )
    op.create_index("ix_meeting_feedback_round_id", "meeting_feedback", ["round_id"])
    shared.create_deleted_account_table("deleted_account")


def downgrade() -> None:
    op.drop_table("deleted_account")
    op.drop_table("meeting_feedback")
    op.drop_table("block")
