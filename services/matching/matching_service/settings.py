from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, ValidatorFunctionWrapHandler, field_validator

from matching_service.domain.schedule import Schedule
from unimatch_shared.settings import ServiceSettings


def _hours_and_minutes(value: Any) -> Any:
    """``MATCH_TIME`` is written HH:MM exactly (README); pydantic's own time parsing would also
    take seconds and fractions."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError:
        raise ValueError(f"MATCH_TIME must be HH:MM (e.g. 10:00), got {value!r}") from None


class MatchingSettings(ServiceSettings):
    port: int = 8103
    match_weekday: int = Field(default=0, ge=0, le=6)  # 0 = Monday
    # Wall-clock time of the round in match_timezone.
    match_time: Annotated[time, BeforeValidator(_hours_and_minutes)] = time(10, 0)
    match_timezone: ZoneInfo = ZoneInfo("Asia/Yekaterinburg")
    # How often the scheduler looks for a due slot; small in tests.
    matching_scheduler_interval_seconds: float = Field(default=30.0, gt=0)

    @field_validator("match_timezone", mode="wrap")
    @classmethod
    def _iana_zone(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> ZoneInfo:
        try:
            zone: ZoneInfo = handler(value)
        except ValueError:
            raise ValueError(
                f"MATCH_TIMEZONE must be an IANA zone (e.g. Asia/Yekaterinburg), got {value!r}"
            ) from None
        return zone

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.match_weekday, self.match_time, self.match_timezone)
