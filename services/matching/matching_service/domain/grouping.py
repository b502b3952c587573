"""Weekly "random coffee" grouping: who meets whom, as a pure function on plain data.

Priorities, highest first:
1. no pair that met before (or as few as possible when unavoidable);
2. as many pairs sharing at least one hobby as possible (a trio counts all three pairs);
3. as many shared hobbies in total as possible;
4. nobody in the trio two rounds in a row when avoidable.

Groups are pairs plus exactly one trio when the number of participants is odd. A blocked
pair (``blocked``) is never in one group: that is a hard constraint, stricter than
criterion 1, even when it leaves someone out of the round (then as few as possible, and
the trio is formed by the parity of those placed).
Up to ``EXACT_MAX_USERS`` participants the result is computed with the blossom
algorithm (``exact.py``); above that, hobby buckets and augmenting paths reach the
same number of sharing pairs without enumerating all pairs (``buckets.py``).
See docs/adr/003-matching-algorithm.md.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .buckets import bucket_grouping
from .exact import EXACT_MAX_USERS, exact_grouping
from .instance import Instance


@dataclass(frozen=True)
class Participant:
    id: int
    hobbies: frozenset[int]


@dataclass(frozen=True)
class GroupingStats:
    repeats: int  # pairs inside groups that met before
    pairs_sharing_hobby: int  # pairs inside groups sharing at least one hobby
    shared_hobbies_total: int  # sum over those pairs of the hobbies they share
    groups: int
    users: int
    hobby_bound: int  # hobby_pair_bound(participants)


def make_groups(
    participants: Sequence[Participant],
    met_before: Iterable[tuple[int, int]] = (),
    last_trio: Iterable[int] = (),
    seed: int | None = None,
    blocked: Iterable[tuple[int, int]] = (),
) -> list[tuple[int, ...]]:
    """Group participants into pairs (+ one trio if odd), by the priorities above.

    ``met_before`` and ``blocked`` hold unordered id pairs; pairs with non-participants are
    ignored. Participants in no group were left out because of blocks.
    ``seed`` breaks ties among equally good groupings (pass e.g. the week number to get
    reproducible but varying rounds); ``None`` means unpredictable.
    """
    if len(participants) < 2:
        return []
    inst = Instance(
        [p.id for p in participants],
        [p.hobbies for p in participants],
        met_before,
        last_trio,
        blocked,
    )
    rng = random.Random(seed)
    solve = exact_grouping if inst.n <= EXACT_MAX_USERS else bucket_grouping
    return [tuple(inst.ids[i] for i in group) for group in solve(inst, rng)]


def hobby_pair_bound(participants: Iterable[Participant]) -> int:
    """Most pairs that can share a hobby: half the users sharing a hobby with anyone.

    Counts pairs only (a trio can add up to two more). Linear: a user shares a hobby
    with someone iff one of its hobbies has at least two participants.
    """
    people = list(participants)
    holders = Counter(h for p in people for h in p.hobbies)
    sharing = sum(1 for p in people if any(holders[h] > 1 for h in p.hobbies))
    return sharing // 2


def grouping_stats(
    participants: Sequence[Participant],
    met_before: Iterable[tuple[int, int]],
    groups: Iterable[Sequence[int]],
) -> GroupingStats:
    """Score a grouping on the priorities (fairness aside) for tests and benchmarks."""
    hobbies = {p.id: p.hobbies for p in participants}
    met = {frozenset(pair) for pair in met_before}
    repeats = sharing = shared_total = count = 0
    for group in groups:
        count += 1
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                repeats += frozenset((a, b)) in met
                common = len(hobbies[a] & hobbies[b])
                sharing += common > 0
                shared_total += common
    return GroupingStats(
        repeats=repeats,
        pairs_sharing_hobby=sharing,
        shared_hobbies_total=shared_total,
        groups=count,
        users=len(hobbies),
        hobby_bound=hobby_pair_bound(participants),
    )
