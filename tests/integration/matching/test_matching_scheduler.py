"""The scheduler: a due slot runs exactly once, however many instances poll, and a slot
before the scheduler's first start never runs; one scheduled round a week whatever the
schedule becomes, on the database's clock whatever the instance's says."""

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from matching_service import service
from matching_service.domain.schedule import Schedule
from matching_service.main import create_app
from tests.conftest import running_app
from tests.integration.matching.helpers import (
    profile,
    published_pairs,
    wait_for_participants,
)
from tests.support.helpers import eventually, publish, query

# Enough polls of every instance to have raced for the slot many times.
SETTLE_SECONDS = 0.5


@pytest.fixture
def due_settings(matching_settings):
    """Settings whose latest slot was an hour ago, polled every 50 ms."""
    slot = datetime.now(UTC) - timedelta(hours=1)
    return matching_settings.model_copy(
        update={
            "match_weekday": slot.weekday(),
            "match_time": slot.time().replace(second=0, microsecond=0),
            "match_timezone": ZoneInfo("UTC"),
            "matching_scheduler_interval_seconds": 0.05,
        }
    )


async def first_start(settings, js, users: int) -> None:
    """Start one instance on the new database, register ``users`` users, stop it."""
    async with running_app(create_app(settings)):
        for user_id in range(1, users + 1):
            await publish(js, settings.unimatch_event_prefix, profile(user_id, user_id))
        await wait_for_participants(settings.database_url, users)

        async def epoch_recorded():
            """the scheduler recorded its epoch"""
            return await query(
                settings.database_url, "matching", "SELECT epoch FROM scheduler_state"
            )

        await eventually(epoch_recorded)
        await asyncio.sleep(SETTLE_SECONDS)
    # The latest slot predates the first start: it was not run retroactively.
    assert await query(settings.database_url, "matching", "SELECT count(*) FROM match_round") == [
        (0,)
    ]


async def move_epoch_before_the_slot(database_url: str) -> None:
    await query(
        database_url, "matching", "UPDATE scheduler_state SET epoch = epoch - interval '8 days'"
    )


async def test_two_instances_run_a_missed_slot_exactly_once(due_settings, js):
    db = due_settings.database_url
    await first_start(due_settings, js, users=5)
    await move_epoch_before_the_slot(db)  # as if the service had been down at the slot
    slot = due_settings.schedule.latest_slot(datetime.now(UTC))

    for _ in range(2):  # both instances start, run, stop; then both again
        async with AsyncExitStack() as stack:
            apps = [create_app(due_settings) for _ in range(2)]
            for app in apps:
                await stack.enter_async_context(running_app(app))

            async def slot_ran():
                """a round for the slot finished"""
                return await query(
                    db,
                    "matching",
                    "SELECT id FROM match_round WHERE slot = %s AND finished_at IS NOT NULL",
                    slot,
                )

            await eventually(slot_ran)
            await asyncio.sleep(SETTLE_SECONDS)
            rounds = await query(db, "matching", "SELECT id, slot, users, groups FROM match_round")
            events = await published_pairs(js, apps[0].state.runtime, db)
        assert [row[1:] for row in rounds] == [(slot, 5, 2)]
        assert len(events) == 2
        assert {e.round_id for e in events} == {rounds[0][0]}


async def test_instances_racing_for_a_slot_hold_one_round(matching_settings, js):
    settings = matching_settings.model_copy(
        update={"match_timezone": ZoneInfo("UTC"), "matching_scheduler_interval_seconds": 3600}
    )
    db = settings.database_url
    async with AsyncExitStack() as stack:
        apps = [create_app(settings) for _ in range(2)]
        for app in apps:
            await stack.enter_async_context(running_app(app))
        for user_id in (1, 2, 3, 4):
            await publish(js, settings.unimatch_event_prefix, profile(user_id, 2))
        await wait_for_participants(db, 4)
        await move_epoch_before_the_slot(db)

        runtimes = [app.state.runtime for app in apps]
        held = await asyncio.gather(
            *(
                service.run_due_round(runtime.unit_of_work(), settings.schedule)
                for runtime in runtimes * 4
            )
        )
        events = await published_pairs(js, runtimes[0], db)
    winners = [r for r in held if r is not None]
    assert len(winners) == 1
    assert winners[0].slot == settings.schedule.latest_slot(datetime.now(UTC))
    assert await query(db, "matching", "SELECT count(*) FROM match_round") == [(1,)]
    assert len(events) == 2


@pytest.fixture
async def idle_instance(matching_settings, js):
    """One instance with four participants whose scheduler has polled once (recording the
    epoch) and will not poll again; the test calls ``run_due_round`` itself."""
    settings = matching_settings.model_copy(update={"matching_scheduler_interval_seconds": 3600})
    db = settings.database_url
    app = create_app(settings)
    async with running_app(app):
        for user_id in (1, 2, 3, 4):
            await publish(js, settings.unimatch_event_prefix, profile(user_id, 2))
        await wait_for_participants(db, 4)

        async def epoch_recorded():
            """the scheduler recorded its epoch"""
            return await query(db, "matching", "SELECT epoch FROM scheduler_state")

        await eventually(epoch_recorded)
        yield app.state.runtime


async def test_moving_the_schedule_after_the_weeks_round_holds_no_second_round(
    idle_instance, matching_settings
):
    db = matching_settings.database_url
    await query(db, "matching", "UPDATE scheduler_state SET epoch = '2020-01-06T00:00Z'")
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    ten, eleven = Schedule(0, time(10), UTC), Schedule(0, time(11), UTC)
    wednesday = Schedule(2, time(10), UTC)

    async def due(schedule: Schedule, now: datetime):
        return await service.run_due_round(idle_instance.unit_of_work(), schedule, now=now)

    first = await due(ten, monday + timedelta(hours=10, minutes=30))
    assert first is not None
    # MATCH_TIME moved to 11:00, then MATCH_WEEKDAY to Wednesday, in the same week.
    assert await due(eleven, monday + timedelta(hours=11, minutes=30)) is None
    assert await due(wednesday, monday + timedelta(days=2, hours=12)) is None
    # Staff may still hold a round at any time; it takes no period.
    manual = await service.run_round(idle_instance.unit_of_work(), eleven)
    assert manual.period is None
    # The next week has its round, at the new time.
    second = await due(eleven, monday + timedelta(days=7, hours=11, minutes=1))
    assert second is not None
    assert second.slot == monday + timedelta(days=7, hours=11)

    rounds = await query(db, "matching", "SELECT slot, period FROM match_round ORDER BY id")
    assert rounds == [
        (monday + timedelta(hours=10), monday.date()),
        (None, None),
        (monday + timedelta(days=7, hours=11), monday.date() + timedelta(days=7)),
    ]
    # The database itself refuses a second scheduled round in a period.
    with pytest.raises(psycopg.errors.UniqueViolation):
        await query(
            db,
            "matching",
            "INSERT INTO match_round (slot, period, started_at, users, groups,"
            " with_common_hobby) VALUES (%s, %s, now(), 0, 0, 0)",
            monday + timedelta(hours=12),
            monday.date(),
        )


async def test_a_slot_is_due_by_the_databases_clock_not_the_instances(
    idle_instance, matching_settings, monkeypatch
):
    """An instance whose clock runs two hours fast does not hold a round due in an hour."""
    db = matching_settings.database_url
    (database_now,) = (await query(db, "matching", "SELECT now()"))[0]
    slot = database_now + timedelta(hours=1)
    schedule = Schedule(slot.weekday(), time(slot.hour, slot.minute), UTC)

    class FastClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(hours=2)

    monkeypatch.setattr(service, "datetime", FastClock)
    assert await service.run_due_round(idle_instance.unit_of_work(), schedule) is None
    assert await query(db, "matching", "SELECT count(*) FROM match_round") == [(0,)]
