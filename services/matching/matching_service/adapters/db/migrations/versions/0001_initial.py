"""Participants, rounds, groups, the scheduler's epoch, outbox and inbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from unimatch_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "participant",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("first_name", sa.String, nullable=False),
        sa.Column("last_name", sa.String, nullable=False),
        sa.Column("hobbies", JSONB, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_until", sa.Date, nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "match_round",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=True, unique=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("groups", sa.Integer, nullable=False),
        sa.Column("with_common_hobby", sa.Integer, nullable=False),
    )
    op.create_table(
        "match_group",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "round_id", sa.BigInteger, sa.ForeignKey("match_round.id"), nullable=False, index=True
        ),
        sa.Column("is_trio", sa.Boolean, nullable=False),
        sa.Column("shared_hobbies", ARRAY(sa.Text), nullable=False),
    )
    op.create_table(
        "group_member",
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("match_group.id"), primary_key=True),
        sa.Column("user_id", sa.BigInteger, primary_key=True),
        sa.Column("round_id", sa.BigInteger, sa.ForeignKey("match_round.id"), nullable=False),
        sa.UniqueConstraint("round_id", "user_id"),
    )
    op.create_table(
        "scheduler_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="scheduler_state_single_row"),
    )
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
    op.drop_table("scheduler_state")
    op.drop_table("group_member")
    op.drop_table("match_group")
    op.drop_table("match_round")
    op.drop_table("participant")
