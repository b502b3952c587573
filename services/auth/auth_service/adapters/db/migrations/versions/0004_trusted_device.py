"""Trusted devices (a login-throttle bypass for the real user) and the device of a failure."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "trusted_device",
        sa.Column("digest", sa.String(64), primary_key=True),
        shared.cascading_reference("user_id", "user_account.id", primary_key=True, index=True),
        shared.timestamp("last_login_at"),
    )
    op.add_column("login_failure", sa.Column("device", sa.String(64), nullable=True, index=True))


def downgrade() -> None:
    op.drop_column("login_failure", "device")
    op.drop_table("trusted_device")
