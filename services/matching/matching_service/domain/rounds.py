"""What a round reads and writes, as plain values."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


class ParticipantRow(NamedTuple):
    """A participant as a round reads it: the hobbies as parallel ids and names."""

    user_id: int
    email: str
    first_name: str
    last_name: str
    paused: bool
    paused_until: date | None
    hobby_ids: list[int]
    hobby_names: list[str]


@dataclass(frozen=True)
class NewGroup:
    id: int
    user_ids: Sequence[int]
    shared_hobbies: list[str]
