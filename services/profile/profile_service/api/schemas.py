"""Bodies of the profile endpoints (docs/api.md, Profile)."""

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator

from unimatch_shared.channels import CHANNELS, Channel
from unimatch_shared.fields import (
    Age,
    Comment,
    HobbyIds,
    PersonName,
    RowId,
    Text,
    TgLink,
    WebHobbyIds,
    WebName,
)
from unimatch_shared.schemas import HobbyOut, UserOut, WebUserOut


def _known_channels(value: list[str], message: str) -> list[str]:
    """Repeats dropped, in the canonical order; an unknown name refused with ``message``."""
    for channel in value:
        if channel not in CHANNELS:
            raise ValueError(message.format(channel=channel))
    return [channel for channel in CHANNELS if channel in value]


def _seed_channels(value: list[str]) -> list[str]:
    return _known_channels(value, '"{channel}" is not a valid choice.')


def _web_channels(value: list[str]) -> list[str]:
    return _known_channels(value, "«{channel}» — нет такого канала (есть telegram и email)")


Channels = Annotated[list[str], Field(max_length=10), AfterValidator(_seed_channels)]
WebChannels = Annotated[list[str], Field(max_length=10), AfterValidator(_web_channels)]


class MeOut(UserOut):
    """The user object plus the pause state and the email awaiting confirmation
    (additive)."""

    paused: bool
    paused_until: date | None
    birth: date | None
    tg_link: str
    # Where the user hears about matches: as chosen, else Telegram when linked, else email.
    channels: list[Channel]
    pending_email: str | None


class WebMeOut(WebUserOut):
    """The web user plus (additive) the email awaiting confirmation, and the channels in
    force as ``MeOut`` shows them."""

    pending_email: str | None
    channels: list[Channel]


class MeUpdate(BaseModel):
    """Only the fields sent change; ``hobby`` replaces the whole list."""

    model_config = ConfigDict(extra="ignore")

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    age: Age | None = None
    hobby: HobbyIds | None = None
    # None: back to the default.
    channels: Channels | None = None
    # Another address is mailed a confirmation link; the email changes when it is followed.
    # ``null`` is ignored, as the field was before.
    email: Text | None = None

    @field_validator("first_name", "last_name", "hobby", mode="before")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("This field may not be null.")
        return value

    @field_validator("hobby")
    @classmethod
    def _unique(cls, hobby: list[int]) -> list[int]:
        return list(dict.fromkeys(hobby))


class PauseRequest(BaseModel):
    until: date | None = None


class Partner(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str
    telegram_username: str | None = None


Met = Literal["yes", "not_yet", "no"]


class FeedbackIn(BaseModel):
    """``POST /users/api/pairs/<id>/feedback``: did the meeting happen? Types are strict: a
    rating of ``"5"`` or ``true`` is refused, not converted."""

    model_config = ConfigDict(extra="ignore")

    met: Met
    rating: Annotated[int, Strict(), Field(ge=1, le=5)] | None = None
    comment: Comment = ""

    @field_validator("met", mode="before")
    @classmethod
    def _choice(cls, value):
        """DRF's wording for a choice that is not one."""
        if value is None:
            raise ValueError("This field may not be null.")
        if value not in get_args(Met):
            raise ValueError(f'"{value}" is not a valid choice.')
        return value


class FeedbackOut(BaseModel):
    """The caller's latest answer about one group (both rows of a trio show it)."""

    met: Met
    rating: int | None
    comment: str
    answered_at: datetime


class MatchOut(BaseModel):
    id: int
    partner: Partner
    created_at: date
    common_hobbies: list[str]
    feedback: FeedbackOut | None  # additive: the caller's answer, null before any


class BlockIn(BaseModel):
    """``POST /users/api/blocks``: someone the caller was matched with."""

    model_config = ConfigDict(extra="ignore")

    user_id: Annotated[RowId, Strict()]


class BlockOut(BaseModel):
    """A block: the partner's id and names (as at their latest match), and when."""

    user_id: int
    first_name: str
    last_name: str
    created_at: datetime


class WebMeUpdate(BaseModel):
    """``PATCH /api/auth/users/me``: only the fields sent change; ``hobby`` (ids) replaces
    the whole list."""

    model_config = ConfigDict(extra="ignore")

    first_name: WebName | None = None
    last_name: WebName | None = None
    birth: date | None = None
    hobby: WebHobbyIds | None = None
    tg_link: TgLink | None = None
    # None: back to the default.
    channels: WebChannels | None = None
    email: Text | None = None

    @field_validator("first_name", "last_name", "hobby", "tg_link", mode="before")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("не может быть пустым")
        return value


class HobbyTotalOut(BaseModel):
    user_tags: list[HobbyOut]
    all_tags: list[HobbyOut]


class WebPartner(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str
    tg_link: str
    hobby: list[HobbyOut]


class WebMatchOut(BaseModel):
    id: int
    partner: WebPartner
    created_at: date
    feedback: FeedbackOut | None  # additive, as on /users/api/pairs


class WebPairsOut(BaseModel):
    current_pair: WebMatchOut | None
    pairs: list[WebMatchOut]
