"""Meeting answers, blocks (lifted ones kept), deleted accounts; match rows by partner."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_index("ix_match_partner_id", "match", ["partner_id"])
    op.create_table(
        "meeting_answer",
        shared.given_key("user_id"),
        shared.given_key("round_id"),
        shared.given_key("group_id"),
        sa.Column("met", sa.Text, nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=True),
        sa.Column("comment", sa.Text, nullable=False),
        shared.timestamp("answered_at"),
    )
    shared.create_block_table("partner_block")
    shared.create_deleted_account_table("deleted_profile")


def downgrade() -> None:
    op.drop_table("deleted_profile")
    op.drop_table("partner_block")
    op.drop_table("meeting_answer")
    op.drop_index("ix_match_partner_id", "match")
