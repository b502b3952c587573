"""When the Telegram link shown was last changed, so late events are ignored.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("profile", sa.Column("telegram_changed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("profile", "telegram_changed_at")
