"""Shared machinery of both grouping paths: the indexed problem and the finishing steps.

Users are re-indexed ``0..n-1``. A partial grouping is a ``mate`` list (``mate[i]`` is
i's partner, ``-1`` while free); the trio is added at the very end.

Every pair gets one integer *value* that encodes the priorities lexicographically, so
"better grouping" is simply "larger sum":

    value = -REPEAT * met_before + SHARE * shares_a_hobby + COMMON * shared_hobbies

A trio scores its three pairs minus one per member who was in last round's trio. The
units are scaled by ``n`` so that no amount of a lower priority outweighs one unit of a
higher one.

A *blocked* pair (one member said "never again") is a hard constraint, not a priority: it is
never put in one group, even if that leaves someone out of the round. Its key is in the
same *avoid* set as the pairs that met before, so every step that pairs repeat-free avoids
it at no extra cost; the few steps that may pair people who met (leftovers, the trio) check
``blocked`` as well. Its value, ``-block_unit``, is below any grouping's, and the exact
path's graphs leave it out (docs/adr/017-blocks-and-feedback.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from typing import cast

NO_MATE = -1
# A grouping: pairs of users' indices, and at most one trio.
Groups = list[tuple[int, ...]]
# How many waiting users a newcomer tries before queueing; bounds the work when many
# candidates have all met each other (history is sparse, so one or two tries suffice).
GREEDY_WINDOW = 8


class Instance:
    """Participants indexed 0..n-1, with O(1) history look-ups and pair values."""

    def __init__(
        self,
        ids: Sequence[int],
        hobbies: Sequence[frozenset[int]],
        met_before: Iterable[tuple[int, int]],
        last_trio: Iterable[int],
        blocked: Iterable[tuple[int, int]] = (),
    ) -> None:
        self.ids = list(ids)
        self.hobbies = list(hobbies)
        self.n = n = len(self.ids)
        index = {uid: i for i, uid in enumerate(self.ids)}
        if len(index) != n:
            raise ValueError("participant ids must be unique")
        self.blocked = self._keys(index, blocked)
        # Pairs to avoid: met before, or blocked (checked apart only where it matters).
        self.avoid = self._keys(index, met_before) | self.blocked
        self.was_in_trio = {index[uid] for uid in last_trio if uid in index}
        self.table: list[list[int]] | None = None  # see tabulate()
        self.best_two: list[list[int]] = []  # each user's two best pair values, tabulated

        max_common = max((len(h) for h in self.hobbies), default=0)
        self.common_unit = 4  # > 3, the most a trio can lose on fairness
        self.share_unit = self.common_unit * (max_common + 1) * (n + 2)
        self.repeat_unit = self.share_unit * (n + 2)
        self.block_unit = self.repeat_unit * (n + 2)

    def _key(self, i: int, j: int) -> int:
        return i * self.n + j if i < j else j * self.n + i

    def _keys(self, index: dict[int, int], pairs: Iterable[tuple[int, int]]) -> set[int]:
        """Keys of the id pairs whose members both take part (and differ)."""
        keys = set()
        for a, b in pairs:
            i, j = index.get(a), index.get(b)
            if i is not None and j is not None and i != j:
                keys.add(self._key(i, j))
        return keys

    def avoids(self, i: int, j: int) -> bool:
        """Whether i and j met before or are blocked: a pairing to avoid."""
        return self._key(i, j) in self.avoid

    def is_blocked(self, i: int, j: int) -> bool:
        return self._key(i, j) in self.blocked

    def can_join(self, c: int, a: int, b: int) -> bool:
        """Whether c may join the pair (a, b): blocked with neither."""
        return not (self.is_blocked(c, a) or self.is_blocked(c, b))

    def value(self, i: int, j: int) -> int:
        """Value of putting i and j in the same group (see module docstring)."""
        if self.table is not None:
            return self.table[i][j]
        key = self._key(i, j)
        avoided = key in self.avoid
        if avoided and key in self.blocked:
            return -self.block_unit
        common = len(self.hobbies[i] & self.hobbies[j])
        score = self.share_unit + self.common_unit * common if common else 0
        return score - self.repeat_unit if avoided else score

    def tabulate(self) -> None:
        """Every pair's value, computed once: the exact path reads each pair's value many
        times (graphs, trio placement), and n^2 look-ups are only affordable for small n.

        Hobby sets become bit masks, so a row is one list comprehension of ``&`` and
        ``bit_count``; met pairs are then subtracted one by one.
        """
        bit = {h: 1 << k for k, h in enumerate({h for hs in self.hobbies for h in hs})}
        masks = [sum(bit[h] for h in hs) for hs in self.hobbies]
        share, unit = self.share_unit, self.common_unit
        table = [
            [share + unit * c if c else 0 for c in ((m & other).bit_count() for other in masks)]
            for m in masks
        ]
        for key in self.avoid:
            i, j = divmod(key, self.n)
            if key in self.blocked:
                table[i][j] = table[j][i] = -self.block_unit
            else:
                table[i][j] -= self.repeat_unit
                table[j][i] -= self.repeat_unit
        self.table = table
        self.best_two = [heapq.nlargest(2, row[:i] + row[i + 1 :]) for i, row in enumerate(table)]

    def unfairness(self, *members: int) -> int:
        return sum(1 for m in members if m in self.was_in_trio)

    def trio_gain(self, c: int, a: int, b: int) -> int:
        """What joining c to the existing pair (a, b) adds to the total value."""
        trio = self.was_in_trio
        return self.value(c, a) + self.value(c, b) - (a in trio) - (b in trio) - (c in trio)

    def groups_value(self, groups: Iterable[tuple[int, ...]]) -> int:
        total = 0
        for g in groups:
            if len(g) == 2:
                total += self.value(*g)
            else:
                total += self.value(g[0], g[1]) + self.trio_gain(g[2], g[0], g[1])
        return total


def pair_greedily(inst: Instance, mate: list[int], members: Iterable[int]) -> list[int]:
    """Pair free ``members`` in order, skipping partners met before or blocked; return the
    unpaired."""
    waiting: list[int] = []
    for u in members:
        if mate[u] != NO_MATE:
            continue
        for pos in range(len(waiting) - 1, max(-1, len(waiting) - 1 - GREEDY_WINDOW), -1):
            v = waiting[pos]
            if not inst.avoids(u, v):
                del waiting[pos]
                mate[u], mate[v] = v, u
                break
        else:
            waiting.append(u)
    return waiting


def pairs_of(mate: list[int]) -> list[tuple[int, int]]:
    return [(i, m) for i, m in enumerate(mate) if i < m]


def pair_leftovers(inst: Instance, mate: list[int], free: Iterable[int]) -> list[int]:
    """Pair all ``free`` users, repeat-free where a swap allows, never a blocked pair; return
    those left unpaired: the odd one out, if any, and (only with blocks) anyone whom nothing
    but a blocked pairing could place.

    Users stuck because they met every other free user are swapped into an existing pair
    (u, v) + (x, y) -> (u, x) + (v, y), choosing the swap that loses the least value.
    """
    stuck = pair_greedily(inst, mate, free)
    unpaired: list[int] = []
    while len(stuck) >= 2:
        u = stuck.pop()
        v = next((w for w in reversed(stuck) if not inst.is_blocked(u, w)), None)
        if v is not None:
            stuck.remove(v)
            swap = _best_swap(inst, mate, u, v, inst.value(u, v))
            if swap is None:
                mate[u], mate[v] = v, u
            else:
                _swap(mate, u, v, *swap)
            continue
        # u is blocked with every other stuck user: a swap with one of them may place both.
        for v in reversed(stuck):
            swap = _best_swap(inst, mate, u, v, None)
            if swap is not None:
                stuck.remove(v)
                _swap(mate, u, v, *swap)
                break
        else:
            unpaired.append(u)
    return stuck + unpaired


def _best_swap(
    inst: Instance, mate: list[int], u: int, v: int, floor: int | None
) -> tuple[int, int] | None:
    """The pair (x, y) for which (u, x) + (v, y) beats ``floor`` by the most (the value of
    pairing u with v, None if they are blocked) without a blocked pair; None if none does."""
    best, best_value = None, floor
    for p, q in pairs_of(mate):
        for x, y in ((p, q), (q, p)):
            swapped = inst.value(u, x) + inst.value(v, y) - inst.value(x, y)
            if (best_value is None or swapped > best_value) and not (
                inst.is_blocked(u, x) or inst.is_blocked(v, y)
            ):
                best, best_value = (x, y), swapped
    return best


def _swap(mate: list[int], u: int, v: int, x: int, y: int) -> None:
    """(u, v) + (x, y) -> (u, x) + (v, y)."""
    mate[u], mate[x], mate[v], mate[y] = x, u, y, v


def place_trio(
    inst: Instance,
    mate: list[int],
    odd: int,
    donors: Iterable[int],
    hosts_for: Callable[[int], Iterable[tuple[int, int]]],
    pair_bound: Callable[[int], int] | None = None,
) -> tuple[int, int, int] | None:
    """Form the trio for the free user ``odd``; return it as (joiner, a, b), or None if
    blocks leave no trio possible (``odd`` is then left out).

    Either ``odd`` joins a pair (a, b), or a *donor* c leaves its pair (c, d) to join
    (a, b) while ``odd`` takes c's place next to d. The latter matters when ``odd``
    shares nothing: a hobby-sharing trio then gains up to one more sharing pair.
    ``hosts_for(c)`` yields the pairs worth trying as (a, b); ``mate`` is updated.

    ``pair_bound(c)``, if given, bounds ``value(c, a) + value(c, b)`` over all pairs: the
    joiners are then tried best bound first, and the search stops once no bound can beat
    the best trio found, instead of trying every joiner against every pair.
    """
    # (c, its partner d, what moving c costs, bound on c's gain)
    joiners: list[tuple[int, int, int, int | None]] = []
    for c in (odd, *donors):
        d = mate[c] if c != odd else NO_MATE
        if d != NO_MATE and inst.is_blocked(odd, d):
            continue
        base = 0 if d == NO_MATE else inst.value(odd, d) - inst.value(c, d)
        bound = None if pair_bound is None else base + pair_bound(c) - inst.unfairness(c)
        joiners.append((c, d, base, bound))
    if pair_bound is not None:
        # Every joiner has a bound when pair_bound is given.
        joiners.sort(key=lambda joiner: cast(int, joiner[3]), reverse=True)
    best_gain, best = None, None
    for c, d, base, bound in joiners:
        if bound is not None and best_gain is not None and bound <= best_gain:
            break
        for a, b in hosts_for(c):
            if c in (a, b) or d in (a, b) or odd in (a, b):
                continue
            gain = base + inst.trio_gain(c, a, b)
            if (best_gain is None or gain > best_gain) and inst.can_join(c, a, b):
                best_gain, best = gain, (c, d, a, b)
    if best is None:
        return None
    c, d, a, b = best
    if d != NO_MATE:
        mate[odd], mate[d], mate[c] = d, odd, NO_MATE
    return c, a, b


def index_groups(mate: list[int], trio: tuple[int, int, int] | None) -> Groups:
    """Groups of indices: every pair not touching the trio, then the trio as (a, b, joiner)."""
    in_trio = set(trio or ())
    groups: list[tuple[int, ...]] = [
        (i, j) for i, j in pairs_of(mate) if i not in in_trio and j not in in_trio
    ]
    if trio:
        c, a, b = trio
        groups.append((a, b, c))
    return groups
