"""Exact grouping for small n: Edmonds' blossom algorithm (rustworkx) on pair values.

Every pair's value is computed once (``Instance.tabulate``): the graphs and the trio
placement below read them many times.

Sparse graph first: with sparse history almost every pair is repeat-free, so only the
hobby-sharing, repeat-free pairs matter. Their best matching, with everyone else paired
repeat-free, is optimal: any grouping's sharing pairs form a matching of that graph.
Only when the rest cannot be paired at no loss do we pay for the complete graph.

The trio (odd n) is not a matching concept. A dummy vertex is matched to the user who
becomes the trio's third member, its edge weighing that user's best conceivable gain
(its two best pair values). The matching value then bounds every grouping's value, so
a grouping that reaches it is optimal: the usual case. Otherwise the plain matching
plus the best trio placement is tried too and the better kept, which is never worse
than the best pairs-only grouping; tiny inputs (<= 24 users) are then settled exactly
by trying every trio.

Blocked pairs are no edge of either graph, and are never formed by the finishing steps.
When blocks leave someone out, groupings are compared by how many they place first, and
the shortcuts above (which reason about values only) are not taken.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations

import rustworkx as rx

from .instance import (
    NO_MATE,
    Groups,
    Instance,
    index_groups,
    pair_leftovers,
    pairs_of,
    place_trio,
)

EXACT_MAX_USERS = 400
# Odd groups whose trio is not settled by the above are solved by trying every trio.
ALL_TRIOS_MAX_USERS = 24


def exact_grouping(inst: Instance, rng: random.Random) -> Groups:
    inst.tabulate()
    order = list(range(inst.n))
    rng.shuffle(order)  # blossom breaks ties by insertion order: vary them per seed
    odd = inst.n % 2 == 1
    candidates = []
    for complete in (False, True):
        for with_dummy in (True, False) if odd else (False,):
            found = _blossom(inst, order, complete, with_dummy)
            if found.placed == inst.n and found.value == found.upper and (with_dummy or not odd):
                return found.groups  # reached an upper bound: optimal
            candidates.append(found)
        best = max(candidates, key=lambda c: (c.placed, c.value))
        if (
            inst.n > ALL_TRIOS_MAX_USERS
            and best.placed == inst.n
            and any(c.pairs_optimal and best.value >= c.pairs_value for c in candidates)
        ):
            return best.groups  # at least as good as the best pairs-only grouping
    if inst.n <= ALL_TRIOS_MAX_USERS:
        return _try_all_trios(inst, order, candidates[-1].pairs_value, best)
    return best.groups


def _try_all_trios(inst: Instance, order: list[int], pairs_optimum: int, best: _Found) -> Groups:
    """Branch and bound over every trio; exact, affordable only for tiny n.

    With trio T, the rest is matched optimally by blossom. Adding one of T's pairs to
    that matching gives a pairs-only grouping, so T can score at most ``pairs_optimum``
    plus T's value minus its best pair: trios are tried in decreasing order of that
    bound until it cannot beat the best grouping found.
    With blocks that leave someone out, the bound (on values alone) is not used: every
    trio without a blocked pair is tried, and more people placed wins first.
    """
    bounded = []
    for trio in combinations(order, 3):
        pair_values = [inst.value(x, y) for x, y in combinations(trio, 2)]
        if any(inst.is_blocked(x, y) for x, y in combinations(trio, 2)):
            continue
        trio_value = sum(pair_values) - inst.unfairness(*trio)
        bounded.append((pairs_optimum + trio_value - max(pair_values), trio_value, trio))
    bounded.sort(reverse=True)
    best_score, best_groups = (best.placed, best.value), best.groups
    for bound, trio_value, (a, b, c) in bounded:
        if best_score[0] == inst.n and bound <= best_score[1]:
            break
        rest = [i for i in order if i not in (a, b, c)]
        edges = [
            (i, j, inst.value(i, j) + inst.repeat_unit)
            for pos, i in enumerate(rest)
            for j in rest[pos + 1 :]
            if not inst.is_blocked(i, j)
        ]
        mate = [NO_MATE] * inst.n
        mate[a], mate[b] = b, a
        placed, value = 3, trio_value
        for i, j in _max_weight_matching(rest, edges, max_cardinality=True):
            mate[i], mate[j] = j, i
            placed, value = placed + 2, value + inst.value(i, j)
        if (placed, value) > best_score:
            best_score, best_groups = (placed, value), index_groups(mate, (c, a, b))
    return best_groups


@dataclass
class _Found:
    groups: Groups
    placed: int  # users in the groups: all of them unless blocks left someone out
    value: int  # of the grouping
    upper: int  # bounds every grouping's value, if even n or with the trio dummy
    pairs_value: int  # of the blossom's pairs alone
    pairs_optimal: bool  # users left out of the matching were paired at no loss


def _blossom(inst: Instance, order: list[int], complete: bool, with_dummy: bool) -> _Found:
    """Run blossom on the sparse or the complete graph, optionally with the trio dummy."""
    offset = inst.repeat_unit if complete else 0  # keeps complete-graph weights >= 0
    # Sparse: hobby-sharing and repeat-free pairs; complete: every pair but blocked ones.
    floor = -offset if complete else 1
    values = inst.table
    assert values is not None  # exact_grouping() tabulated the instance
    edges = [
        (i, j, values[i][j] + offset)
        for pos, i in enumerate(order)
        for j in order[pos + 1 :]
        if values[i][j] >= floor
    ]
    dummy = inst.n
    estimates = {}
    if with_dummy:
        for c in order:
            # A pair left out of the sparse graph is paired repeat-free: worth 0 at least.
            best_two = inst.best_two[c] if complete else [max(v, 0) for v in inst.best_two[c]]
            estimate = sum(best_two) - inst.unfairness(c)
            # One who has no two partners but blocked ones can never join a pair.
            if (complete or estimate > 0) and min(inst.best_two[c]) > -inst.block_unit:
                estimates[c] = estimate
                edges.append((c, dummy, estimate + 2 * offset))

    mate = [NO_MATE] * inst.n
    joiner = None
    upper = pairs_value = 0
    for i, j in _max_weight_matching([*order, dummy], edges, max_cardinality=complete):
        if dummy in (i, j):
            joiner = i + j - dummy
            upper += estimates[joiner]
        else:
            mate[i], mate[j] = j, i
            upper += inst.value(i, j)
            pairs_value += inst.value(i, j)
    free = [i for i in order if mate[i] == NO_MATE and i != joiner]
    unpaired = pair_leftovers(inst, mate, free)
    pairs_optimal = sum(inst.value(i, j) for i, j in pairs_of(mate)) == pairs_value
    groups = _with_trio(inst, order, mate, [joiner, *unpaired] if joiner is not None else unpaired)
    placed = sum(len(g) for g in groups)
    return _Found(groups, placed, inst.groups_value(groups), upper, pairs_value, pairs_optimal)


def _max_weight_matching(
    nodes: list[int], edges: list[tuple[int, int, int]], max_cardinality: bool
) -> list[tuple[int, int]]:
    """Edmonds' blossom (rustworkx's compiled port of the same algorithm networkx has in
    pure Python, which cost seconds at n=400). Nodes go in in the given order, which is
    how the algorithm breaks ties."""
    graph = rx.PyGraph()
    index = {node: graph.add_node(node) for node in nodes}
    graph.add_edges_from([(index[a], index[b], weight) for a, b, weight in edges])
    pairs = rx.max_weight_matching(graph, max_cardinality=max_cardinality, weight_fn=int)
    return [(nodes[a], nodes[b]) for a, b in pairs]


def _with_trio(inst: Instance, order: list[int], mate: list[int], unpaired: list[int]) -> Groups:
    """The groups, with the trio made for the first of the ``unpaired`` that can join one
    (normally the only one: the odd user); the others are left out."""
    hosts = pairs_of(mate)
    donors = [i for i in order if mate[i] != NO_MATE]
    for odd in unpaired:
        trio = place_trio(
            inst, mate, odd, donors, lambda _c: hosts, pair_bound=lambda c: sum(inst.best_two[c])
        )
        if trio is not None:
            return index_groups(mate, trio)
    return index_groups(mate, None)
