"""Failed logins, for throttling."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "login_failure",
        shared.identity_key(),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("client", sa.String(64), nullable=False, index=True),
        shared.timestamp("failed_at", index=True),
    )


def downgrade() -> None:
    op.drop_table("login_failure")
