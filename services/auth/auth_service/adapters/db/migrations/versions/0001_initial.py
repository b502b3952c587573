"""Accounts, tokens, outbox and inbox."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        shared.identity_key(),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("is_staff", sa.Boolean, nullable=False, server_default=sa.false()),
        shared.timestamp("created_at"),
    )
    op.create_table(
        "auth_token",
        sa.Column("digest", sa.String(64), primary_key=True),
        shared.cascading_reference("user_id", "user_account.id", nullable=False, index=True),
        shared.timestamp("created_at"),
    )
    shared.create_messaging_tables()


def downgrade() -> None:
    shared.drop_messaging_tables()
    op.drop_table("auth_token")
    op.drop_table("user_account")
