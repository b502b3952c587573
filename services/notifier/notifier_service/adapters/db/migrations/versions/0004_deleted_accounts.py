"""The accounts deleted, so late events about them neither bring them back nor message them
(docs/adr/026-deleted-accounts-under-locks.md)."""

from alembic import op

from unimatch_shared import migrations as shared

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    shared.create_deleted_account_table("deleted_member")


def downgrade() -> None:
    op.drop_table("deleted_member")
