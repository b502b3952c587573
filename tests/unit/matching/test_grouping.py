"""Behaviour of the grouping algorithm: validity, optimality, fairness, CLI.

Optimality is checked against independent references: networkx blossom on the complete
graph (pairs only) and, for tiny inputs, an exhaustive search over all groupings.
"""

from __future__ import annotations

import functools
import json
import operator
import random
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.workload import generate
from matching_service.domain.grouping import (
    Participant,
    grouping_stats,
    hobby_pair_bound,
    make_groups,
)
from tests.unit.matching.strategies import random_participants

REPO = Path(__file__).resolve().parents[3]


def key(stats) -> tuple[int, int, int]:
    """Criteria 1-3 as one comparable tuple, larger is better."""
    return (-stats.repeats, stats.pairs_sharing_hobby, stats.shared_hobbies_total)


def pair_key(people: dict[int, frozenset[int]], met: set[frozenset[int]], a: int, b: int):
    common = len(people[a] & people[b])
    return (-(frozenset((a, b)) in met), common > 0, common)


def blossom_reference(participants, met_before) -> tuple[int, int, int]:
    """Best pairs-only grouping: networkx on all pairs, lexicographic integer weights."""
    people = {p.id: p.hobbies for p in participants}
    met = {frozenset(pair) for pair in met_before}
    n = len(people)
    common_unit = 41
    share_unit = common_unit * (n + 1)
    repeat_unit = share_unit * (n + 1)
    graph = nx.Graph()
    ids = list(people)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            rep, shares, common = pair_key(people, met, a, b)
            graph.add_edge(a, b, weight=repeat_unit * (1 + rep) + share_unit * shares + common)
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return key(grouping_stats(participants, met_before, list(matching)))


def exhaustive_best(participants, met_before, last_trio=()) -> tuple:
    """Best (criteria 1-3, then fewest last-trio members in the trio) over all groupings."""
    people = {p.id: p.hobbies for p in participants}
    met = {frozenset(pair) for pair in met_before}
    ids = tuple(people)

    def score(group) -> tuple[int, int, int, int]:
        total = (0, 0, 0, -sum(uid in last_trio for uid in group if len(group) == 3))
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                total = add(total, (*pair_key(people, met, a, b), 0))
        return total

    @functools.cache
    def best(rest: tuple[int, ...], trio_due: bool):
        if not rest:
            return None if trio_due else (0, 0, 0, 0)
        first, others = rest[0], rest[1:]
        options = []
        for i, b in enumerate(others):
            left = others[:i] + others[i + 1 :]
            found = best(left, trio_due)
            if found is not None:
                options.append(add(found, score((first, b))))
            if trio_due:
                for j, c in enumerate(left):
                    found = best(left[:j] + left[j + 1 :], False)
                    if found is not None:
                        options.append(add(found, score((first, b, c))))
        return max(options, default=None)

    return best(ids, len(ids) % 2 == 1)


def add(x: tuple, y: tuple) -> tuple:
    return tuple(map(operator.add, x, y))


def assert_valid(participants, groups) -> None:
    """Everyone in exactly one group; pairs plus one trio iff the count is odd."""
    if len(participants) < 2:
        assert groups == []
        return
    members = [uid for group in groups for uid in group]
    assert sorted(members) == sorted(p.id for p in participants)
    sizes = [len(group) for group in groups]
    assert set(sizes) <= {2, 3}
    assert sizes.count(3) == len(participants) % 2


@st.composite
def instances(draw, max_users: int):
    participants = draw(random_participants(0, max_users, most_hobbies=6, first_id=100))
    pairs = [(a.id, b.id) for i, a in enumerate(participants) for b in participants[i + 1 :]]
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    met = [pair for pair in pairs if rng.random() < density]
    last_trio = [p.id for p in participants[:3]] if draw(st.booleans()) else []
    return participants, met, last_trio, draw(st.integers(0, 1000))


@settings(max_examples=100, deadline=None)
@given(instances(max_users=14))
def test_valid_and_as_good_as_blossom(case):
    participants, met, last_trio, seed = case
    groups = make_groups(participants, met, last_trio, seed=seed)
    assert_valid(participants, groups)
    if len(participants) >= 2 and len(participants) % 2 == 0:  # odd: see the next test
        assert key(grouping_stats(participants, met, groups)) == blossom_reference(
            participants, met
        )


@settings(max_examples=100, deadline=None)
@given(instances(max_users=9))
def test_optimal_including_trio_and_fairness(case):
    participants, met, last_trio, seed = case
    groups = make_groups(participants, met, last_trio, seed=seed)
    if len(participants) < 2:
        return
    stats = grouping_stats(participants, met, groups)
    trio = next((g for g in groups if len(g) == 3), ())
    ours = (*key(stats), -sum(uid in last_trio for uid in trio))
    assert ours == exhaustive_best(participants, met, tuple(last_trio))


def repeat_free_groups(work, seed: int):
    """A generated workload grouped, checked valid and free of repeats; with its stats."""
    participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
    groups = make_groups(participants, work.history, work.last_trio, seed=seed)
    assert_valid(participants, groups)
    stats = grouping_stats(participants, work.history, groups)
    assert stats.repeats == 0
    return participants, groups, stats


@pytest.mark.parametrize("users", [200, 201, 400])
def test_medium_workloads_match_blossom_with_zero_repeats(users):
    work = generate(users, rounds=10, seed=users)
    participants, _, stats = repeat_free_groups(work, seed=7)
    assert key(stats) >= blossom_reference(participants, work.history)
    assert stats.pairs_sharing_hobby >= stats.hobby_bound


def test_large_workload_reaches_the_bound():
    work = generate(20_000, rounds=10, seed=5)
    _, _, stats = repeat_free_groups(work, seed=1)
    assert stats.pairs_sharing_hobby >= 0.999 * stats.hobby_bound


@pytest.mark.parametrize("users", [5_001, 30_001])
def test_large_path_is_valid_repeat_free_and_at_bound(users):
    work = generate(users, rounds=20, seed=users)
    _, groups, stats = repeat_free_groups(work, seed=2)
    assert stats.pairs_sharing_hobby >= 0.999 * stats.hobby_bound
    assert not set(work.last_trio) & set(next(g for g in groups if len(g) == 3))


@pytest.mark.parametrize("seed", [1, 2])
def test_deterministic_per_seed(seed):
    work = generate(1_001, rounds=3, seed=seed)
    participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
    first = make_groups(participants, work.history, seed=seed)
    assert make_groups(participants, work.history, seed=seed) == first
    assert make_groups(participants, work.history, seed=seed + 100) != first


@pytest.mark.parametrize("users", [0, 1])
def test_nobody_to_meet(users):
    assert make_groups([Participant(1, frozenset())][:users]) == []


def test_two_and_three_users():
    two = [Participant(1, frozenset({1})), Participant(2, frozenset())]
    (pair,) = make_groups(two, met_before=[(2, 1)])
    assert sorted(pair) == [1, 2]
    three = two + [Participant(3, frozenset({1}))]
    (trio,) = make_groups(three, met_before=[(1, 2)], last_trio=[1, 2, 3])
    assert sorted(trio) == [1, 2, 3]


def test_nobody_has_hobbies():
    participants = [Participant(uid, frozenset()) for uid in range(11)]
    groups = make_groups(participants, met_before=[(0, 1), (2, 3)], seed=3)
    assert_valid(participants, groups)
    assert grouping_stats(participants, [(0, 1), (2, 3)], groups).repeats == 0


@pytest.mark.parametrize("users", [6, 7, 600, 601])
def test_everyone_met_everyone_still_groups_with_minimal_repeats(users):
    participants = [Participant(uid, frozenset({uid % 3})) for uid in range(users)]
    met = [(a, b) for a in range(users) for b in range(a + 1, users)]
    groups = make_groups(participants, met, seed=1)
    assert_valid(participants, groups)
    stats = grouping_stats(participants, met, groups)
    assert stats.repeats == users // 2 + users % 2 * 2  # every pair repeats; trio has 3


@pytest.mark.parametrize("users", [9, 601])
def test_last_trio_members_are_spared(users):
    participants = [Participant(uid, frozenset({1, 2})) for uid in range(users)]
    last_trio = [0, 1, 2]
    groups = make_groups(participants, last_trio=last_trio, seed=4)
    (trio,) = [g for g in groups if len(g) == 3]
    assert not set(trio) & set(last_trio)


def test_hobby_pair_bound_counts_users_with_a_shared_hobby():
    participants = [
        Participant(1, frozenset({1})),
        Participant(2, frozenset({1, 2})),
        Participant(3, frozenset({2})),
        Participant(4, frozenset({3})),  # nobody else likes 3
        Participant(5, frozenset()),
    ]
    assert hobby_pair_bound(participants) == 1  # users 1, 2, 3 share; one pair at most


def test_grouping_stats_counts_every_pair_of_a_trio():
    participants = [Participant(uid, frozenset({1, 2})) for uid in range(3)]
    stats = grouping_stats(participants, [(0, 1)], [(0, 1, 2)])
    assert (stats.repeats, stats.pairs_sharing_hobby, stats.shared_hobbies_total) == (1, 3, 6)


def run_cli(tmp_path: Path, document) -> subprocess.CompletedProcess:
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(document if isinstance(document, str) else json.dumps(document))
    return subprocess.run(
        [sys.executable, "-m", "matching_service.cli.pairs", str(source), str(target)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "services" / "matching")},
    )


def test_cli_round_trip(tmp_path):
    work = generate(41, rounds=3, seed=9)
    result = run_cli(tmp_path, work.to_json())
    assert result.returncode == 0, result.stderr
    groups = json.loads((tmp_path / "out.json").read_text())["groups"]
    participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
    assert_valid(participants, [tuple(g) for g in groups])
    assert grouping_stats(participants, work.history, [tuple(g) for g in groups]).repeats == 0


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        [],
        {"users": [{"id": "1", "hobbies": []}]},
        {"users": [{"id": 1, "hobbies": "chess"}]},
        {"users": [{"id": 1}, {"id": 1}]},
        {"users": [{"id": 1}], "history": [[1, 2, 3]]},
    ],
)
def test_cli_rejects_malformed_input(tmp_path, document):
    result = run_cli(tmp_path, document)
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert not (tmp_path / "out.json").exists()
