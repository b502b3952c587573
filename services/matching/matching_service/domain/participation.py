"""Who takes part in a round, and what a group has in common. Pure functions."""

from collections.abc import Mapping, Sequence
from datetime import date
from itertools import combinations

# One member's hobbies: id -> name.
Hobbies = Mapping[int, str]


def takes_part(paused: bool, paused_until: date | None, today: date) -> bool:
    """A registered user takes part unless paused; a pause "until" a date lasts through
    that date (in the schedule's zone) and is over from the next day on."""
    if not paused:
        return True
    return paused_until is not None and paused_until < today


def common_hobby_ids(members: Sequence[Hobbies]) -> set[int]:
    """Hobbies every member of the group has."""
    if not members:
        return set()
    return set(members[0]).intersection(*members[1:])


def shared_hobbies(members: Sequence[Hobbies], common: set[int] | None = None) -> list[str]:
    """The hobby names a group is told it shares, ordered by hobby id.

    Hobbies common to all members (``common``, if the caller has them already); for a trio
    with none, those any two members share, so the message still gives the trio something to
    talk about.
    """
    ids = common_hobby_ids(members) if common is None else common
    if not ids:
        ids = set().union(*(set(a) & set(b) for a, b in combinations(members, 2)))
    names = {hobby: name for member in members for hobby, name in member.items()}
    return [names[hobby] for hobby in sorted(ids)]
