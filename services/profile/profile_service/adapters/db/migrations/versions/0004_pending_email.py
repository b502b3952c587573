"""Profiles: an email awaiting confirmation (until its link expires), and when the email
last changed (docs/adr/016-password-reset.md).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("profile", sa.Column("pending_email", sa.String(254), nullable=True))
    op.add_column(
        "profile", sa.Column("pending_email_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "profile", sa.Column("email_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("profile", "email_changed_at")
    op.drop_column("profile", "pending_email_until")
    op.drop_column("profile", "pending_email")
