"""When the Telegram link shown was last changed, so late events are ignored."""

from alembic import op

from unimatch_shared import migrations as shared

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("profile", shared.timestamp("telegram_changed_at", nullable=True))


def downgrade() -> None:
    op.drop_column("profile", "telegram_changed_at")
