"""Group users from a JSON file: ``python -m matching_service.cli.pairs IN OUT [--seed S]``.

IN:  {"users": [{"id": 1, "hobbies": [3, 7]}, ...], "history": [[1, 2], ...],
      "last_trio": [4, 5, 6]}            ("history" and "last_trio" are optional)
OUT: {"groups": [[1, 5], [2, 9, 4], ...]}

Malformed input is reported on stderr with exit code 2, like argparse usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys

from matching_service.domain.grouping import Participant, make_groups


class InputError(ValueError):
    pass


def _int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where} must be an integer, got {value!r}")
    return value


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list, got {type(value).__name__}")
    return value


def parse(document) -> tuple[list[Participant], list[tuple[int, int]], list[int]]:
    """Validate the input document and convert it to domain values."""
    if not isinstance(document, dict) or "users" not in document:
        raise InputError('top level must be an object with a "users" list')
    participants = []
    for n, user in enumerate(_list(document["users"], "users")):
        if not isinstance(user, dict) or "id" not in user:
            raise InputError(f'users[{n}] must be an object with an "id"')
        hobbies = _list(user.get("hobbies", []), f"users[{n}].hobbies")
        participants.append(
            Participant(
                id=_int(user["id"], f"users[{n}].id"),
                hobbies=frozenset(_int(h, f"users[{n}].hobbies") for h in hobbies),
            )
        )
    if len({p.id for p in participants}) != len(participants):
        raise InputError("user ids must be unique")
    history = []
    for n, pair in enumerate(_list(document.get("history", []), "history")):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(f"history[{n}] must be a pair of user ids, got {pair!r}")
        history.append((_int(pair[0], f"history[{n}]"), _int(pair[1], f"history[{n}]")))
    last_trio = [_int(u, "last_trio") for u in _list(document.get("last_trio", []), "last_trio")]
    return participants, history, last_trio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Group users for this week's meetings.")
    parser.add_argument("input", help="JSON file with users and history")
    parser.add_argument("output", help="JSON file to write the groups to")
    parser.add_argument("--seed", type=int, default=0, help="tie-break seed (e.g. week number)")
    args = parser.parse_args(argv)
    try:
        with open(args.input) as fh:
            participants, history, last_trio = parse(json.load(fh))
    except (OSError, ValueError) as exc:  # JSON and InputError are ValueErrors
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    groups = make_groups(participants, history, last_trio, seed=args.seed)
    with open(args.output, "w") as fh:
        json.dump({"groups": [list(g) for g in groups]}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
