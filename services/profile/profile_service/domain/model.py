"""Profile rules that need no database: hobby validation, pausing, partners in a group,
answers about meetings, what stays of a deleted account."""

from datetime import date, datetime
from itertools import permutations
from typing import Any


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


def shown_pending_email(address: str | None, until: datetime | None, now: datetime) -> str | None:
    """The new email awaiting confirmation, while its link works."""
    return address if address and until and now < until else None


def current_and_earlier(
    matches: list[dict[str, Any]], latest_round: int | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Split a user's matches (newest first, each with its ``round_id``) into the match of the
    latest round held, if the user was in it, and the rest. In a trio the first partner is
    the current match and the other leads the earlier ones, so neither is hidden."""
    current = next((m for m in matches if m["round_id"] == latest_round), None)
    earlier = [m for m in matches if m is not current]
    return None if current is None else _public(current), [_public(m) for m in earlier]


def _public(match: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in match.items() if k != "round_id"}


def partner_pairs(member_ids: list[int]) -> list[tuple[int, int]]:
    """(user, partner) for every member and every other member: a trio gives two rows each."""
    return list(permutations(member_ids, 2))


# What past partners' histories show in place of a deleted account (docs/api.md, Matches):
# these names, an empty email, no Telegram nick, no hobbies; the partner ``id`` stays.
DELETED_USER = {"first_name": "Удалённый пользователь", "last_name": "", "email": ""}


def rating_errors(met: str, rating: int | None) -> dict[str, list[str]]:
    """A rating rates a meeting that happened: only with ``met`` "yes"."""
    if rating is not None and met != "yes":
        return {"rating": ['A rating is only given with "met": "yes".']}
    return {}
