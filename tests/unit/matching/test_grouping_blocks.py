"""Blocked pairs ("never pair me with this person again") in the grouping: a hard
constraint in every path (exact, buckets, leftovers, the trio), even when it leaves someone
out. Placement is checked against an exhaustive search on tiny inputs."""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.workload import generate
from matching_service.domain.buckets import bucket_grouping
from matching_service.domain.grouping import Participant, grouping_stats, make_groups
from matching_service.domain.instance import Instance
from tests.unit.matching.strategies import random_participants


def assert_respects_blocks(participants, groups, blocked) -> None:
    """Nobody twice, nobody unknown, pairs and at most one trio, no blocked pair together."""
    members = [uid for group in groups for uid in group]
    assert len(members) == len(set(members))
    assert set(members) <= {p.id for p in participants}
    sizes = [len(group) for group in groups]
    assert set(sizes) <= {2, 3} and sizes.count(3) <= 1
    forbidden = {frozenset(pair) for pair in blocked}
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                assert frozenset((a, b)) not in forbidden, (a, b)


def most_placeable(ids: tuple[int, ...], blocked) -> int:
    """Exhaustive: the most users that pairs plus at most one trio can hold without a
    blocked pair."""
    forbidden = {frozenset(pair) for pair in blocked}

    def ok(*group: int) -> bool:
        return all(
            frozenset((a, b)) not in forbidden for i, a in enumerate(group) for b in group[i + 1 :]
        )

    @functools.cache
    def best(rest: tuple[int, ...], trio_left: bool) -> int:
        if not rest:
            return 0
        first, others = rest[0], rest[1:]
        options = [best(others, trio_left)]  # first left out
        for i, b in enumerate(others):
            left = others[:i] + others[i + 1 :]
            if ok(first, b):
                options.append(2 + best(left, trio_left))
                if trio_left:
                    for j, c in enumerate(left):
                        if ok(first, b, c):
                            options.append(3 + best(left[:j] + left[j + 1 :], False))
        return max(options)

    return best(ids, True)


def test_best_match_is_never_formed_once_blocked():
    # 1 and 2 share everything, 3 and 4 nothing: without the block, (1, 2) is the best pair.
    participants = [
        Participant(1, frozenset({1, 2, 3})),
        Participant(2, frozenset({1, 2, 3})),
        Participant(3, frozenset()),
        Participant(4, frozenset()),
    ]
    assert sorted(map(sorted, make_groups(participants, seed=1)))[0] == [1, 2]
    for seed in range(20):
        groups = make_groups(participants, seed=seed, blocked=[(2, 1)])
        assert_respects_blocks(participants, groups, [(1, 2)])
        assert sorted(uid for g in groups for uid in g) == [1, 2, 3, 4]


def test_block_is_stricter_than_a_past_meeting():
    # Everyone met everyone: repeats are allowed, the blocked pair is not.
    participants = [Participant(uid, frozenset({1})) for uid in range(4)]
    met = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    for seed in range(10):
        groups = make_groups(participants, met, seed=seed, blocked=[(0, 1), (2, 3)])
        assert sorted(sorted(g) for g in groups) in ([[0, 2], [1, 3]], [[0, 3], [1, 2]])


@pytest.mark.parametrize(
    ("users", "blocked", "left_out"),
    [
        (2, [(1, 2)], 2),  # the only pair is blocked: nobody meets
        (3, [(1, 2)], 1),  # no trio without the block: one pair, one left out
        (4, [(1, 2), (1, 3), (1, 4)], 1),  # 1 blocked everyone: the others form the trio
        (5, [(1, 2), (1, 3), (1, 4), (1, 5)], 1),  # ... or two pairs
    ],
)
def test_avoiding_a_block_may_leave_someone_out(users, blocked, left_out):
    participants = [Participant(uid, frozenset({7})) for uid in range(1, users + 1)]
    for seed in range(10):
        groups = make_groups(participants, seed=seed, blocked=blocked)
        assert_respects_blocks(participants, groups, blocked)
        assert users - sum(map(len, groups)) == left_out


@st.composite
def blocked_instances(draw, max_users: int):
    participants = draw(random_participants(2, max_users, most_hobbies=4))
    n = len(participants)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    rng = random.Random(draw(st.integers(0, 2**32)))
    met = [pair for pair in pairs if rng.random() < draw(st.sampled_from([0.0, 0.3, 0.9]))]
    blocked = [pair for pair in pairs if rng.random() < draw(st.sampled_from([0.1, 0.4, 0.8]))]
    return participants, met, blocked, draw(st.integers(0, 1000))


@settings(max_examples=150, deadline=None)
@given(blocked_instances(max_users=9))
def test_blocks_hold_and_as_few_as_possible_are_left_out(case):
    participants, met, blocked, seed = case
    groups = make_groups(participants, met, seed=seed, blocked=blocked)
    assert_respects_blocks(participants, groups, blocked)
    placed = sum(map(len, groups))
    assert placed == most_placeable(tuple(p.id for p in participants), blocked)


@settings(max_examples=150, deadline=None)
@given(blocked_instances(max_users=30))
def test_the_large_path_never_groups_a_blocked_pair(case):
    """The hobby-bucket path (used above 400 users) on small, densely blocked inputs."""
    participants, met, blocked, seed = case
    inst = Instance(
        [p.id for p in participants], [p.hobbies for p in participants], met, (), blocked
    )
    groups = [
        tuple(inst.ids[i] for i in group) for group in bucket_grouping(inst, random.Random(seed))
    ]
    assert_respects_blocks(participants, groups, blocked)
    if not blocked:
        assert sum(map(len, groups)) == len(participants)


@pytest.mark.parametrize("users", [401, 5_000])
def test_blocks_hold_on_both_paths_at_scale(users):
    work = generate(users, rounds=5, seed=users)
    participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
    unblocked = make_groups(participants, work.history, work.last_trio, seed=3)
    # Block the pairs the unblocked round formed (its best matches) and a few more.
    rng = random.Random(users)
    blocked = [tuple(g[:2]) for g in unblocked[: len(unblocked) // 2]]
    ids = [p.id for p in participants]
    blocked += [tuple(rng.sample(ids, 2)) for _ in range(users // 10)]
    groups = make_groups(participants, work.history, work.last_trio, seed=3, blocked=blocked)
    assert_respects_blocks(participants, groups, blocked)
    assert sum(map(len, groups)) == users  # plenty of other partners: nobody left out
    stats = grouping_stats(participants, work.history, groups)
    assert stats.repeats == 0
