"""One scheduled round per period: ``match_round.period``, unique."""

import os

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # ``period`` is the Monday of the calendar week, in the schedule's zone, that holds a
    # scheduled round's slot (``Schedule.period``); NULL for a staff-triggered round. Existing
    # scheduled rounds get theirs from ``MATCH_TIMEZONE`` (as the service reads it); if a
    # period already held two, the first keeps it.
    op.add_column("match_round", sa.Column("period", sa.Date, nullable=True))
    zone = os.environ.get("MATCH_TIMEZONE") or "Asia/Yekaterinburg"
    op.get_bind().execute(
        sa.text(
            "UPDATE match_round SET period = first.period FROM ("
            " SELECT DISTINCT ON (1) date_trunc('week', slot AT TIME ZONE :zone)::date AS period,"
            " id FROM match_round WHERE slot IS NOT NULL ORDER BY 1, id"
            ") AS first WHERE match_round.id = first.id"
        ),
        {"zone": zone},
    )
    op.create_unique_constraint("match_round_period_key", "match_round", ["period"])


def downgrade() -> None:
    op.drop_constraint("match_round_period_key", "match_round")
    op.drop_column("match_round", "period")
