"""Trusted devices (a login-throttle bypass for the real user) and the device of a failure.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "trusted_device",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.BigInteger,
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("login_failure", sa.Column("device", sa.String(64), nullable=True, index=True))


def downgrade() -> None:
    op.drop_column("login_failure", "device")
    op.drop_table("trusted_device")
