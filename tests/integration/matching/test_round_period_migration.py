"""Migration 0002 gives rounds held before it their period, so the guard holds for the week
the upgrade happens in; a week that already held two keeps the first as its round."""

from datetime import UTC, date, datetime

from matching_service.settings import MatchingSettings
from tests.support.helpers import query
from unimatch_shared.db import migrations_of, run_migrations

MIGRATIONS = migrations_of("matching")


async def test_existing_rounds_get_their_period_in_the_schedules_zone(
    service_settings, monkeypatch
):
    monkeypatch.delenv("MATCH_TIMEZONE", raising=False)  # the default, Asia/Yekaterinburg
    settings = MatchingSettings(**service_settings)
    db = settings.database_url
    run_migrations(settings, "matching", MIGRATIONS, "0001")
    slots = [
        datetime(2026, 11, 23, 5, tzinfo=UTC),  # Monday 10:00 in Yekaterinburg
        None,  # a staff round
        datetime(2026, 11, 23, 6, tzinfo=UTC),  # a second round that week (the old bug)
        datetime(2026, 11, 29, 20, tzinfo=UTC),  # Sunday in UTC, Monday 01:00 there
    ]
    for slot in slots:
        await query(
            db,
            "matching",
            "INSERT INTO match_round (slot, started_at, users, groups, with_common_hobby)"
            " VALUES (%s, now(), 0, 0, 0)",
            slot,
        )
    run_migrations(settings, "matching", MIGRATIONS)
    periods = await query(db, "matching", "SELECT slot, period FROM match_round ORDER BY id")
    assert periods == [
        (slots[0], date(2026, 11, 23)),
        (None, None),
        (slots[2], None),
        (slots[3], date(2026, 11, 30)),
    ]
