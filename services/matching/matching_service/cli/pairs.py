"""Group users from a JSON file: ``python -m matching_service.cli.pairs IN OUT [--seed S]``.

IN:  {"users": [{"id": 1, "hobbies": [3, 7]}, ...], "history": [[1, 2], ...],
      "last_trio": [4, 5, 6]}            ("history" and "last_trio" are optional)
OUT: {"groups": [[1, 5], [2, 9, 4], ...]}

Malformed input is reported on stderr with exit code 2, like argparse usage errors.
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel, StrictInt, ValidationError, field_validator

from matching_service.domain.grouping import Participant, make_groups


class User(BaseModel):
    id: StrictInt
    hobbies: list[StrictInt] = []


class PairsInput(BaseModel):
    """The input file; integers are strict (``"1"`` and ``true`` are not user ids)."""

    users: list[User]
    history: list[tuple[StrictInt, StrictInt]] = []
    last_trio: list[StrictInt] = []

    @field_validator("users")
    @classmethod
    def _ids_unique(cls, users: list[User]) -> list[User]:
        if len({user.id for user in users}) != len(users):
            raise ValueError("user ids must be unique")
        return users

    @property
    def participants(self) -> list[Participant]:
        return [Participant(user.id, frozenset(user.hobbies)) for user in self.users]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Group users for this week's meetings.")
    parser.add_argument("input", help="JSON file with users and history")
    parser.add_argument("output", help="JSON file to write the groups to")
    parser.add_argument("--seed", type=int, default=0, help="tie-break seed (e.g. week number)")
    args = parser.parse_args(argv)
    try:
        document = PairsInput.model_validate_json(Path(args.input).read_bytes())
    except (OSError, ValidationError) as exc:  # malformed JSON is a ValidationError too
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    groups = make_groups(
        document.participants, document.history, document.last_trio, seed=args.seed
    )
    with open(args.output, "w") as fh:
        json.dump({"groups": [list(g) for g in groups]}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
