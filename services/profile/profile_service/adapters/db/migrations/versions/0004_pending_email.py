"""Profiles: an email awaiting confirmation, and when the email last changed (docs/adr/016)."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("profile", sa.Column("pending_email", sa.String(254), nullable=True))
    op.add_column("profile", shared.timestamp("pending_email_until", nullable=True))
    op.add_column("profile", shared.timestamp("email_changed_at", nullable=True))


def downgrade() -> None:
    op.drop_column("profile", "email_changed_at")
    op.drop_column("profile", "pending_email_until")
    op.drop_column("profile", "pending_email")
