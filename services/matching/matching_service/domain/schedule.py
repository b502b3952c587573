"""The weekly round schedule: one slot a week, a weekday and a wall-clock time in a zone.

A slot belongs to a *period*: the calendar week (Monday to Sunday) in the schedule's zone
that holds it. At most one scheduled round runs per period, whatever the schedule says when
it runs (docs/adr/005-round-scheduling.md): moving ``MATCH_TIME`` or ``MATCH_WEEKDAY`` after
this week's round does not hold another one this week.

Pure functions over aware datetimes. Slots are returned in UTC and all arithmetic happens
there: Python compares and subtracts two datetimes sharing a ``tzinfo`` by wall time alone,
which is wrong across a DST change, and never finds a time in a repeated hour equal to one
in another zone. A slot whose wall time falls in a DST gap runs at the first instant after it
(02:30 on a spring-forward night is 03:30); in a repeated hour it runs at the first
occurrence.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)
DISPLAY_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Countdown:
    """Time to the next round, as ``GET /users/api/days-to-match`` shows it."""

    days_left: int
    hours_left: int
    minutes_left: int
    next_match_at: str


@dataclass(frozen=True)
class Schedule:
    weekday: int  # 0 = Monday, as datetime.weekday()
    at: time
    zone: ZoneInfo

    def _slot_on(self, day: date) -> datetime:
        """The slot's instant on ``day`` (a schedule weekday)."""
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def _latest_slot_day(self, now: datetime) -> date:
        today = self.today(now)
        day = today - timedelta(days=(today.weekday() - self.weekday) % 7)
        if self._slot_on(day) > now:
            day -= WEEK
        return day

    def latest_slot(self, now: datetime) -> datetime:
        """The most recent slot at or before ``now``."""
        return self._slot_on(self._latest_slot_day(now))

    def next_round(self, now: datetime) -> datetime:
        """The first slot after ``now``. Slots are whole minutes, so from a slot's minute
        on (10:00:00 through 10:00:59) the next round is a week later."""
        return self._slot_on(self._latest_slot_day(now) + WEEK)

    def period(self, slot: datetime) -> date:
        """The period of ``slot``: the Monday starting its calendar week in the zone."""
        day = self.today(slot)
        return day - timedelta(days=day.weekday())

    def today(self, now: datetime) -> date:
        """The calendar date in the schedule's zone; pauses end by this calendar."""
        return now.astimezone(self.zone).date()

    def countdown(self, now: datetime) -> Countdown:
        """The remaining time split into whole days, then hours, then minutes (floored)."""
        upcoming = self.next_round(now)
        remaining = upcoming - now.astimezone(UTC)
        minutes = int(remaining.total_seconds()) // 60
        hours, minutes_left = divmod(minutes, 60)
        days_left, hours_left = divmod(hours, 24)
        return Countdown(days_left, hours_left, minutes_left, self.display(upcoming))

    def display(self, instant: datetime) -> str:
        """An instant as the API shows it: wall time in the schedule's zone."""
        return instant.astimezone(self.zone).strftime(DISPLAY_FORMAT)
