"""Response bodies of the matching endpoints (docs/api.md, Matching)."""

from pydantic import BaseModel


class CountdownOut(BaseModel):
    days_left: int
    hours_left: int
    minutes_left: int
    next_match_at: str


class RoundOut(BaseModel):
    """A round; times are "%Y-%m-%d %H:%M:%S" in the schedule's zone, like next_match_at."""

    round_id: int
    created_at: str
    groups: int
    users: int
    with_common_hobby: int


class RoundListItem(RoundOut):
    slot: str | None  # the scheduled slot it ran for; null for a manual round


class RoundStatsOut(BaseModel):
    """A round's figures and its members' answers to "did you meet?" (their latest each)."""

    round_id: int
    users: int
    groups: int
    with_common_hobby: int
    answered: int  # members who answered
    met: int  # members who answered "yes"
    rating_mean: float | None  # of the ratings given; null without any
