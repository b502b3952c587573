"""Participants, rounds, groups, the scheduler's epoch, outbox and inbox."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from unimatch_shared import migrations as shared

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "participant",
        shared.given_key("user_id"),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("first_name", sa.String, nullable=False),
        sa.Column("last_name", sa.String, nullable=False),
        sa.Column("hobbies", JSONB, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_until", sa.Date, nullable=True),
        shared.timestamp("changed_at"),
    )
    op.create_table(
        "match_round",
        shared.identity_key(),
        shared.timestamp("slot", nullable=True, unique=True),
        shared.timestamp("started_at"),
        shared.timestamp("finished_at", nullable=True),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("groups", sa.Integer, nullable=False),
        sa.Column("with_common_hobby", sa.Integer, nullable=False),
    )
    op.create_table(
        "match_group",
        shared.identity_key(),
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
        shared.timestamp("epoch"),
        sa.CheckConstraint("id = 1", name="scheduler_state_single_row"),
    )
    shared.create_messaging_tables()


def downgrade() -> None:
    shared.drop_messaging_tables()
    op.drop_table("scheduler_state")
    op.drop_table("group_member")
    op.drop_table("match_group")
    op.drop_table("match_round")
    op.drop_table("participant")
