"""Mail: the members' chosen channels, the outbox of mails, the key signing unsubscribe
links (made here, at random).

Revision ID: 0003
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("member", sa.Column("channels", sa.JSON, nullable=True))
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
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
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "outgoing_mail_pending",
        "outgoing_mail",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text("status = 'pending'"),
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
