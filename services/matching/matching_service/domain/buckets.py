"""Near-optimal grouping for large n without looking at all n^2 pairs.

The hobby-sharing graph is a union of cliques, one per hobby, so it never has to be
built: a hobby's *bucket* (the list of its users) stands for its clique. Steps:

1. Users with the same hobby set are interchangeable except for history; pairing them
   gives each the most shared hobbies it can get (criterion 3).
2. The leftovers (at most one per hobby set, plus history clashes) are paired inside
   hobby buckets, rarest hobby first, so rare-hobby users are not stranded by the big
   buckets absorbing their only possible partners. This leaves about one user per
   hobby, while the bound allows one in total.
3. Augmenting paths pair up those last ones: a breadth-first search from a free user
   alternates "shares a hobby with" and "is paired with" until it reaches another free
   user, then flips the path. Each bucket is scanned at most once per search, and a
   per-hobby index of free users ends most searches after a few steps.
4. Everyone still free (no hobbies, or no one to share with) is paired repeat-free.
5. For odd n the trio is placed by trying a bounded sample of candidates.

Blocked pairs are in the instance's avoid set, so no step above pairs them; one that
blocks leave unpaired may still join the trio, or is left out.

History checks are set look-ups; each user met only about R people, so they rarely
fire. Work is O(n * hobbies per user) plus the (short) searches.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Iterator
from itertools import islice

from .instance import (
    NO_MATE,
    Groups,
    Instance,
    index_groups,
    pair_greedily,
    pair_leftovers,
    place_trio,
)

# Trio placement looks at this many candidate joiners and, per joiner, this many
# partners per hobby; with big buckets the first few already give the maximum gain.
TRIO_CANDIDATES = 32
TRIO_HOSTS_PER_HOBBY = 64

# A hobby's users, in the round's shuffled order.
Buckets = dict[int, list[int]]


def bucket_grouping(inst: Instance, rng: random.Random) -> Groups:
    order = list(range(inst.n))
    rng.shuffle(order)
    hobbies = inst.hobbies
    mate = [NO_MATE] * inst.n

    same_set: dict[frozenset[int], list[int]] = defaultdict(list)
    for i in order:
        if hobbies[i]:
            same_set[hobbies[i]].append(i)
    for members in same_set.values():
        pair_greedily(inst, mate, members)

    buckets: dict[int, list[int]] = defaultdict(list)
    for i in order:
        for h in hobbies[i]:
            buckets[h].append(i)
    for h in sorted(buckets, key=lambda h: (len(buckets[h]), h)):
        free = [i for i in buckets[h] if mate[i] == NO_MATE]
        # Neighbours in sorted-hobby order tend to share more than just h.
        free.sort(key=lambda i: sorted(hobbies[i]))
        pair_greedily(inst, mate, free)

    _augment(inst, mate, buckets, order)

    unpaired = pair_leftovers(inst, mate, [i for i in order if mate[i] == NO_MATE])
    trio = next(
        (t for odd in unpaired if (t := _place_trio(inst, mate, buckets, order, odd))), None
    )
    return index_groups(mate, trio)


def _augment(inst: Instance, mate: list[int], buckets: Buckets, order: list[int]) -> None:
    """Grow the sharing matching along augmenting paths from each free sharing user."""
    free_by_hobby: dict[int, set[int]] = defaultdict(set)
    roots = []
    for i in order:
        if mate[i] == NO_MATE and any(len(buckets[h]) > 1 for h in inst.hobbies[i]):
            roots.append(i)
            for h in inst.hobbies[i]:
                free_by_hobby[h].add(i)
    for root in roots:
        if mate[root] != NO_MATE:
            continue
        end = _augment_from(inst, mate, buckets, free_by_hobby, root)
        if end is not None:
            for user in (root, end):
                for h in inst.hobbies[user]:
                    free_by_hobby[h].discard(user)


def _augment_from(
    inst: Instance,
    mate: list[int],
    buckets: Buckets,
    free_by_hobby: dict[int, set[int]],
    root: int,
) -> int | None:
    """Search alternating paths from ``root``; on success flip one, return its far end.

    Outer users are the root and the partners of inner users; an inner user shares a
    hobby with the outer user that reached it. Blossoms are not contracted, so a few
    paths through odd cycles can be missed; on the workloads this never cost a pair.
    """
    hobbies = inst.hobbies
    reached_via = {root: NO_MATE}  # outer user -> the inner user (its partner) before it
    reached_from: dict[int, int] = {}  # inner user -> the outer user before it
    scanned: set[int] = set()
    queue = deque([root])
    while queue:
        x = queue.popleft()
        for h in hobbies[x]:
            for y in free_by_hobby.get(h, ()):
                if y != root and not inst.avoids(x, y):
                    _flip(mate, reached_via, reached_from, x, y)
                    return y
        for h in hobbies[x]:
            if h in scanned:
                continue
            scanned.add(h)
            for y in buckets[h]:
                w = mate[y]
                if (
                    w == NO_MATE
                    or y in reached_from
                    or y in reached_via
                    or w in reached_via
                    or inst.avoids(x, y)
                ):
                    continue
                reached_from[y] = x
                reached_via[w] = y
                queue.append(w)
    return None


def _flip(
    mate: list[int], reached_via: dict[int, int], reached_from: dict[int, int], x: int, y: int
) -> None:
    """Pair x with the free y, then shift every pair on the path back to the root."""
    while True:
        inner = reached_via[x]
        mate[x], mate[y] = y, x
        if inner == NO_MATE:
            return
        x, y = reached_from[inner], inner


def _place_trio(
    inst: Instance, mate: list[int], buckets: Buckets, order: list[int], odd: int
) -> tuple[int, int, int] | None:
    """Try the odd user and a sample of paired users as the trio's third member."""
    some_pairs = [(a, mate[a]) for a in islice(order, 2 * TRIO_HOSTS_PER_HOBBY) if mate[a] >= 0]
    donors = islice((i for i in order if mate[i] != NO_MATE and inst.hobbies[i]), TRIO_CANDIDATES)

    def hosts_for(c: int) -> Iterator[tuple[int, int]]:
        for h in inst.hobbies[c]:
            for a in islice(buckets[h], TRIO_HOSTS_PER_HOBBY):
                if mate[a] != NO_MATE:
                    yield a, mate[a]
        yield from some_pairs

    return place_trio(inst, mate, odd, donors, hosts_for)
