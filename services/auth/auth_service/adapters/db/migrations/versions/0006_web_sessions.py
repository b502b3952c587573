"""Web sessions: families of refresh tokens (docs/adr/015)."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "web_session",
        shared.identity_key(),
        shared.cascading_reference("user_id", "user_account.id", nullable=False),
        shared.timestamp("created_at"),
        shared.timestamp("ended_at", nullable=True),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_table(
        "refresh_token",
        sa.Column("digest", sa.String(64), primary_key=True),
        shared.cascading_reference("session_id", "web_session.id", nullable=False),
        shared.timestamp("expires_at"),
        shared.timestamp("used_at", nullable=True),
    )
    op.create_index("ix_refresh_token_session_id", "refresh_token", ["session_id"])
    op.create_index("ix_refresh_token_expires_at", "refresh_token", ["expires_at"])


def downgrade() -> None:
    op.drop_table("refresh_token")
    op.drop_table("web_session")
