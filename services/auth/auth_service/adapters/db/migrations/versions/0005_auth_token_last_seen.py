"""Sessions: when each was last used, so idle ones expire (docs/adr/010)."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("auth_token", shared.timestamp("last_seen_at", server_default=sa.func.now()))
    op.execute("UPDATE auth_token SET last_seen_at = created_at")
    op.create_index("ix_auth_token_last_seen_at", "auth_token", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_token_last_seen_at", "auth_token")
    op.drop_column("auth_token", "last_seen_at")
