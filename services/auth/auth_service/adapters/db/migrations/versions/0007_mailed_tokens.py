"""Mailed tokens (password reset, email change) and throttled reset requests (docs/adr/016)."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "mailed_token",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        shared.cascading_reference("user_id", "user_account.id", nullable=False),
        sa.Column("new_email", sa.String(254), nullable=True),
        shared.timestamp("created_at"),
        shared.timestamp("expires_at"),
        shared.timestamp("used_at", nullable=True),
    )
    op.create_index("ix_mailed_token_user_id", "mailed_token", ["user_id"])
    op.create_index("ix_mailed_token_expires_at", "mailed_token", ["expires_at"])
    op.create_table(
        "reset_request",
        shared.identity_key(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        shared.timestamp("requested_at"),
    )
    op.create_index("ix_reset_request_email", "reset_request", ["email"])
    op.create_index("ix_reset_request_network", "reset_request", ["network"])
    op.create_index("ix_reset_request_requested_at", "reset_request", ["requested_at"])


def downgrade() -> None:
    op.drop_table("reset_request")
    op.drop_table("mailed_token")
