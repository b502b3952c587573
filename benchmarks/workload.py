"""Synthetic matching workloads: users with Zipf-distributed hobbies plus past rounds.

Hobbies come from a catalog of 40, hobby of rank r drawn with weight 1/r, so a few
hobbies are shared by most users (huge cliques) and the tail is rare. About 10% of
users have no hobby; the rest have 1..4 distinct ones.

History is made by a *plain random pairing* repeated ``rounds`` times (shuffle, pair
neighbours, the odd one out joins the last pair). That is cheaper than running the real
algorithm and gives the same sparsity: every user has met about ``rounds`` people.

    python benchmarks/workload.py --users 10000 --rounds 10 --seed 1 --out w.json

writes ``{"users": [{"id": .., "hobbies": [..]}, ..], "history": [[a, b], ..],
"last_trio": [..]}``, the input format of ``python -m matching_service.cli.pairs``.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass

CATALOG_SIZE = 40
MAX_HOBBIES = 4
NO_HOBBY_SHARE = 0.10


@dataclass(frozen=True)
class Workload:
    users: list[tuple[int, frozenset[int]]]
    history: list[tuple[int, int]]
    last_trio: tuple[int, ...]

    def to_json(self) -> dict:
        return {
            "users": [{"id": uid, "hobbies": sorted(h)} for uid, h in self.users],
            "history": [list(pair) for pair in self.history],
            "last_trio": list(self.last_trio),
        }


def generate(users: int, rounds: int, seed: int = 0) -> Workload:
    """Build a reproducible workload of ``users`` people with ``rounds`` past rounds."""
    rng = random.Random(seed)
    catalog = list(range(1, CATALOG_SIZE + 1))
    weights = [1 / rank for rank in catalog]
    people = []
    for uid in range(1, users + 1):
        count = 0 if rng.random() < NO_HOBBY_SHARE else rng.randint(1, MAX_HOBBIES)
        hobbies: set[int] = set()
        while len(hobbies) < count:
            hobbies.add(rng.choices(catalog, weights)[0])
        people.append((uid, frozenset(hobbies)))

    met: set[tuple[int, int]] = set()
    trio: tuple[int, ...] = ()
    ids = [uid for uid, _ in people]
    for _ in range(rounds):
        rng.shuffle(ids)
        groups = [ids[i : i + 2] for i in range(0, len(ids) - 1, 2)]
        if len(ids) % 2 and groups:
            groups[-1].append(ids[-1])
        for group in groups:
            met.update((min(a, b), max(a, b)) for i, a in enumerate(group) for b in group[i + 1 :])
        trio = tuple(groups[-1]) if groups and len(groups[-1]) == 3 else ()
    return Workload(users=people, history=sorted(met), last_trio=trio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    workload = generate(args.users, args.rounds, args.seed)
    with open(args.out, "w") as fh:
        json.dump(workload.to_json(), fh)


if __name__ == "__main__":
    main()
