"""Failed logins: the client's wider network, for the per-network cap (IPv6 /48)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column(
        "login_failure",
        sa.Column("network", sa.String(64), nullable=False, server_default=""),
    )
    op.execute("UPDATE login_failure SET network = client")
    op.create_index("ix_login_failure_network", "login_failure", ["network"])


def downgrade() -> None:
    op.drop_index("ix_login_failure_network", "login_failure")
    op.drop_column("login_failure", "network")
