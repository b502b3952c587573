"""The Telegram user an account was made for in the bot (one account per Telegram user)."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("user_account", sa.Column("telegram_id", sa.BigInteger, nullable=True))
    op.create_unique_constraint("user_account_telegram_id_key", "user_account", ["telegram_id"])


def downgrade() -> None:
    op.drop_constraint("user_account_telegram_id_key", "user_account")
    op.drop_column("user_account", "telegram_id")
