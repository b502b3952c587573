from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from matching_service.domain.schedule import Schedule
from unimatch_shared.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    port: int = 8103
    match_weekday: int = Field(default=0, ge=0, le=6)  # 0 = Monday
    match_time: str = "10:00"  # HH:MM, wall-clock time in match_timezone
    match_timezone: str = "Asia/Yekaterinburg"
    # How often the scheduler looks for a due slot; small in tests.
    matching_scheduler_interval_seconds: float = Field(default=30.0, gt=0)

    @field_validator("match_time")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%H:%M")
        except ValueError:
            raise ValueError(f"MATCH_TIME must be HH:MM (e.g. 10:00), got {value!r}") from None
        return value

    @field_validator("match_timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"MATCH_TIMEZONE must be an IANA zone (e.g. Asia/Yekaterinburg), got {value!r}"
            ) from None
        return value

    @property
    def schedule(self) -> Schedule:
        at = datetime.strptime(self.match_time, "%H:%M").time()
        return Schedule(self.match_weekday, at, ZoneInfo(self.match_timezone))
