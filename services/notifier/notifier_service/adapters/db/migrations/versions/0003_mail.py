"""Mail: members' channels, the mail outbox, the key signing unsubscribe links (made here)."""

import secrets

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("member", sa.Column("channels", sa.JSON, nullable=True))
    op.create_table(
        "outgoing_mail",
        shared.identity_key(),
        sa.Column("idempotency_key", sa.String(400), nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(310), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text_body", sa.Text, nullable=False),
        sa.Column("html_body", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("unsubscribe_url", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        shared.timestamp("next_attempt_at"),
        sa.Column("last_error", sa.Text, nullable=True),
        shared.timestamp("created_at"),
        shared.timestamp("sent_at", nullable=True),
    )
    shared.create_partial_index(
        "outgoing_mail_pending", "outgoing_mail", ["next_attempt_at", "id"], "status = 'pending'"
    )
    signing_key = op.create_table(
        "signing_key",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("secret", sa.LargeBinary, nullable=False),
    )
    # Made once, here, so every start and every instance reads the same one.
    op.bulk_insert(signing_key, [{"name": "unsubscribe", "secret": secrets.token_bytes(32)}])


def downgrade() -> None:
    op.drop_table("signing_key")
    op.drop_table("outgoing_mail")
    op.drop_column("member", "channels")
