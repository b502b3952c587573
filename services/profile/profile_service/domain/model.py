"""Profile rules that need no database: hobby validation, pausing, partners in a group."""

from datetime import date
from itertools import permutations


def unknown_hobby_errors(requested: list[int], known: set[int]) -> dict[str, list[str]]:
    """DRF's wording for hobby ids that do not exist (empty when all do)."""
    missing = [hobby_id for hobby_id in requested if hobby_id not in known]
    if not missing:
        return {}
    return {"hobby": [f'Invalid pk "{hobby_id}" - object does not exist.' for hobby_id in missing]}


def pause_until_errors(until: date | None, today: date) -> dict[str, list[str]]:
    if until is not None and until < today:
        return {"until": ["The date must be today or later."]}
    return {}


def is_paused(paused: bool, paused_until: date | None, today: date) -> bool:
    """A pause with an end date lasts through that date."""
    if not paused:
        return False
    return paused_until is None or today <= paused_until


def partner_pairs(member_ids: list[int]) -> list[tuple[int, int]]:
    """(user, partner) for every member and every other member: a trio gives two rows each."""
    return list(permutations(member_ids, 2))
