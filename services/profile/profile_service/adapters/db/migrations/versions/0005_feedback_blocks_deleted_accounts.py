"""Answers about meetings, blocks (lifted ones kept as ``blocked`` false) and deleted
accounts; match rows by partner, for renaming a deleted partner.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_index("ix_match_partner_id", "match", ["partner_id"])
    op.create_table(
        "meeting_answer",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("round_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("group_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("met", sa.Text, nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "partner_block",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("blocked_user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_partner_block_blocked_user_id", "partner_block", ["blocked_user_id"])
    op.create_table(
        "deleted_profile",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deleted_profile")
    op.drop_table("partner_block")
    op.drop_table("meeting_answer")
    op.drop_index("ix_match_partner_id", "match")
