"""The weekly schedule: next round, latest slot and the days-to-match split, at fixed instants."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from matching_service.domain.schedule import Countdown, Schedule
from matching_service.settings import MatchingSettings

YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")
BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = Schedule(0, time(10, 0), YEKATERINBURG)  # Monday 10:00, UTC+5 all year


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)


def test_countdown_splits_one_duration_into_days_hours_minutes():
    now = at(YEKATERINBURG, 2025, 4, 26, 20, 43)  # Saturday
    assert DEFAULT.countdown(now) == Countdown(1, 13, 17, "2025-04-28 10:00:00")


def test_countdown_floors_to_whole_minutes():
    assert DEFAULT.countdown(at(YEKATERINBURG, 2025, 4, 28, 9, 58, 1)) == Countdown(
        0, 0, 1, "2025-04-28 10:00:00"
    )
    assert DEFAULT.countdown(at(YEKATERINBURG, 2025, 4, 28, 9, 59, 59)) == Countdown(
        0, 0, 0, "2025-04-28 10:00:00"
    )


@pytest.mark.parametrize("second", [0, 30, 59])
def test_from_the_rounds_minute_on_the_next_round_is_a_week_later(second):
    now = at(YEKATERINBURG, 2025, 4, 28, 10, 0, second)
    assert DEFAULT.next_round(now) == at(YEKATERINBURG, 2025, 5, 5, 10, 0)
    assert DEFAULT.latest_slot(now) == at(YEKATERINBURG, 2025, 4, 28, 10, 0)
    days = DEFAULT.countdown(now)
    assert (days.days_left, days.next_match_at) == (6 if second else 7, "2025-05-05 10:00:00")


def test_latest_slot_is_at_or_before_now():
    assert DEFAULT.latest_slot(at(YEKATERINBURG, 2025, 4, 28, 9, 59, 59)) == at(
        YEKATERINBURG, 2025, 4, 21, 10, 0
    )
    assert DEFAULT.latest_slot(at(YEKATERINBURG, 2025, 4, 30, 0, 0)) == at(
        YEKATERINBURG, 2025, 4, 28, 10, 0
    )


def test_now_in_another_zone_is_read_in_the_schedules_zone():
    # Sunday 23:30 UTC is already Monday 04:30 in Yekaterinburg.
    now = datetime(2025, 4, 27, 23, 30, tzinfo=UTC)
    assert DEFAULT.countdown(now) == Countdown(0, 5, 30, "2025-04-28 10:00:00")


def test_countdown_across_spring_forward_counts_real_hours():
    monday_ten = Schedule(0, time(10, 0), BERLIN)
    now = at(BERLIN, 2025, 3, 29, 10, 0)  # Saturday, CET; clocks go forward Sunday night
    assert monday_ten.countdown(now) == Countdown(1, 23, 0, "2025-03-31 10:00:00")


def test_slot_in_a_dst_gap_runs_at_the_first_instant_after_it():
    sunday_half_past_two = Schedule(6, time(2, 30), BERLIN)  # 02:30 does not exist on 30 March
    slot = sunday_half_past_two.next_round(at(BERLIN, 2025, 3, 29, 12, 0))
    assert slot == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert sunday_half_past_two.display(slot) == "2025-03-30 03:30:00"
    assert sunday_half_past_two.latest_slot(datetime(2025, 3, 30, 1, 29, tzinfo=UTC)) == at(
        BERLIN, 2025, 3, 23, 2, 30
    )


def test_slot_in_a_repeated_hour_runs_at_its_first_occurrence():
    sunday_half_past_two = Schedule(6, time(2, 30), BERLIN)  # 02:30 happens twice on 26 October
    first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert sunday_half_past_two.latest_slot(datetime(2025, 10, 26, 1, 45, tzinfo=UTC)) == first
    assert sunday_half_past_two.latest_slot(datetime(2025, 10, 26, 0, 29, tzinfo=UTC)) < first


def test_custom_weekday_time_and_zone_from_settings():
    settings = MatchingSettings(
        match_weekday=4, match_time="18:30", match_timezone="America/New_York"
    )
    now = datetime(2025, 7, 10, 12, 0, tzinfo=UTC)  # Thursday 08:00 in New York (EDT)
    countdown = settings.schedule.countdown(now)
    assert countdown == Countdown(1, 10, 30, "2025-07-11 18:30:00")


def test_default_settings_schedule():
    settings = MatchingSettings()
    assert settings.port == 8103
    assert settings.schedule == DEFAULT


def test_environment_configures_the_schedule(monkeypatch):
    monkeypatch.setenv("MATCH_WEEKDAY", "2")
    monkeypatch.setenv("MATCH_TIME", "07:05")
    monkeypatch.setenv("MATCH_TIMEZONE", "UTC")
    assert MatchingSettings().schedule == Schedule(2, time(7, 5), ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("match_weekday", 7, "less than or equal to 6"),
        ("match_weekday", -1, "greater than or equal to 0"),
        ("match_time", "25:00", "MATCH_TIME must be HH:MM"),
        ("match_time", "ten", "MATCH_TIME must be HH:MM"),
        ("match_time", "10:00:30", "MATCH_TIME must be HH:MM"),
        ("match_timezone", "Mars/Olympus", "MATCH_TIMEZONE must be an IANA zone"),
        ("matching_scheduler_interval_seconds", 0, "greater than 0"),
    ],
)
def test_bad_schedule_settings_fail_at_start_with_a_clear_message(field, value, message):
    with pytest.raises(ValidationError, match=message):
        MatchingSettings(**{field: value})


def test_a_slots_period_is_the_monday_of_its_week_in_the_schedules_zone():
    # Sunday 23:30 and Monday 00:30 in Yekaterinburg are both Sunday in UTC.
    sunday_night = at(YEKATERINBURG, 2025, 4, 27, 23, 30)
    monday_morning = at(YEKATERINBURG, 2025, 4, 28, 0, 30)
    assert DEFAULT.period(sunday_night.astimezone(UTC)) == date(2025, 4, 21)
    assert DEFAULT.period(monday_morning.astimezone(UTC)) == date(2025, 4, 28)


def test_moving_the_slot_within_a_week_keeps_its_period():
    now = at(YEKATERINBURG, 2025, 5, 1, 12, 0)  # Thursday
    slots = [
        Schedule(weekday, time(hour, 0), YEKATERINBURG).latest_slot(now)
        for weekday in range(3)  # Monday to Wednesday
        for hour in (0, 10, 23)
    ]
    assert {DEFAULT.period(slot) for slot in slots} == {date(2025, 4, 28)}
