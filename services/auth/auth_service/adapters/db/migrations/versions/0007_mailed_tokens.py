"""Mailed tokens (password reset, email change) and the reset requests throttled
(docs/adr/016-password-reset.md).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "mailed_token",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column(
            "user_id",
            sa.BigInteger,
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("new_email", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mailed_token_user_id", "mailed_token", ["user_id"])
    op.create_index("ix_mailed_token_expires_at", "mailed_token", ["expires_at"])
    op.create_table(
        "reset_request",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reset_request_email", "reset_request", ["email"])
    op.create_index("ix_reset_request_network", "reset_request", ["network"])
    op.create_index("ix_reset_request_requested_at", "reset_request", ["requested_at"])


def downgrade() -> None:
    op.drop_table("reset_request")
    op.drop_table("mailed_token")
