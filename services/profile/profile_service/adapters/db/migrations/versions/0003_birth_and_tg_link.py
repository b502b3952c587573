"""Profiles: date of birth and Telegram nick, given on the web surface (docs/api.md)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("profile", sa.Column("birth", sa.Date, nullable=True))
    op.add_column("profile", sa.Column("tg_link", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("profile", "tg_link")
    op.drop_column("profile", "birth")
