"""Profiles: the channels a user chose for hearing about matches (null: the default)."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("profile", sa.Column("channels", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("profile", "channels")
