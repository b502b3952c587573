"""Benchmark the grouping algorithm against a greedy baseline, the exact path's worst case
per n, and a whole round in the service; prints markdown tables (``make bench-matching``).

    python -m benchmarks.bench_matching      (from the repo root, matching_service importable)

Every measurement runs in a fresh subprocess on one core. Memory is that process's peak
resident set size (``ru_maxrss``): interpreter, networkx import and the generated
workload included, so it is an honest upper bound on what the call needs. The "before"
figure is the same peak just before calling, so the difference is the call's own growth.

The greedy baseline lists every pair, sorts by (not met, shares a hobby, shared
hobbies) and takes pairs greedily. It needs n^2/2 candidate pairs in memory, so it is
only run up to ``GREEDY_MAX_USERS``. The exact reference (networkx blossom on all pairs
with lexicographic weights) is computed up to ``EXACT_MAX_USERS``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx

from benchmarks import bench_round
from benchmarks.workload import generate
from matching_service.domain.grouping import Participant, grouping_stats, make_groups

REPO = Path(__file__).resolve().parents[1]
SIZES = (400, 2_000, 10_000, 100_000)
ROUNDS = 10
SEED = 1
GREEDY_MAX_USERS = 2_000
EXACT_MAX_USERS = 500
# The exact path (n <= 400): slowest of these histories (past rounds) and seeds, per n.
EXACT_SIZES = (24, 25, 50, 100, 200, 299, 300, 375, 399, 400)
EXACT_HISTORIES = (10, 0.5)  # past rounds: 10, or n/2 (dense history)
EXACT_SEEDS = (1, 2, 3)


def greedy_groups(participants, met_before) -> list[tuple[int, ...]]:
    """Baseline: best-first over all pairs; the odd one out joins the last pair."""
    met = {frozenset(pair) for pair in met_before}
    candidates = []
    for i, a in enumerate(participants):
        for b in participants[i + 1 :]:
            common = len(a.hobbies & b.hobbies)
            not_met = frozenset((a.id, b.id)) not in met
            candidates.append((not_met, common > 0, common, a.id, b.id))
    candidates.sort(reverse=True)
    taken: set[int] = set()
    groups: list[tuple[int, ...]] = []
    for *_, a, b in candidates:
        if a not in taken and b not in taken:
            taken.update((a, b))
            groups.append((a, b))
    left = [p.id for p in participants if p.id not in taken]
    if left and groups:
        groups[-1] = (*groups[-1], *left)
    return groups


def exact_sharing_pairs(participants, met_before) -> int:
    """Hobby-sharing pairs in a maximum-weight matching with lexicographic weights."""
    met = {frozenset(pair) for pair in met_before}
    n = len(participants)
    share_unit = 41 * (n + 1)
    repeat_unit = share_unit * (n + 1)
    graph = nx.Graph()
    for i, a in enumerate(participants):
        for b in participants[i + 1 :]:
            common = len(a.hobbies & b.hobbies)
            not_met = frozenset((a.id, b.id)) not in met
            weight = repeat_unit * not_met + share_unit * (common > 0) + common
            graph.add_edge(a.id, b.id, weight=weight)
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return grouping_stats(participants, met_before, list(matching)).pairs_sharing_hobby


def measure(algorithm: str, users: int) -> dict:
    """Child-process body: generate, time one call, report stats and peak memory."""
    work = generate(users, ROUNDS, SEED)
    participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if algorithm == "greedy":
        groups = greedy_groups(participants, work.history)
    else:
        groups = make_groups(participants, work.history, work.last_trio, seed=SEED)
    seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = grouping_stats(participants, work.history, groups)
    exact = exact_sharing_pairs(participants, work.history) if users <= EXACT_MAX_USERS else None
    return {
        "seconds": seconds,
        "rss_mib": rss_after / 1024,
        "rss_before_mib": rss_before / 1024,
        "groups": stats.groups,
        "repeats": stats.repeats,
        "sharing": stats.pairs_sharing_hobby,
        "bound": stats.hobby_bound,
        "exact": exact,
    }


def run_child(algorithm: str, users: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_matching", "--child", algorithm, str(users)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(done.stdout)


def table() -> str:
    rows = [
        "| algorithm | users | wall s | peak RSS MiB (before call) | groups | repeats "
        "| sharing pairs / bound | vs exact blossom |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for algorithm in ("ours", "greedy"):
        for users in SIZES:
            if algorithm == "greedy" and users > GREEDY_MAX_USERS:
                rows.append(
                    f"| greedy | {users:,} | skipped: needs {users * (users - 1) // 2:,} "
                    "candidate pairs in memory | | | | | |"
                )
                continue
            r = run_child(algorithm, users)
            ratio = 100 * r["sharing"] / r["bound"]
            exact = "n/a" if r["exact"] is None else f"{r['sharing']} vs {r['exact']}"
            rows.append(
                f"| {algorithm} | {users:,} | {r['seconds']:.2f} "
                f"| {r['rss_mib']:.0f} ({r['rss_before_mib']:.0f}) | {r['groups']:,} "
                f"| {r['repeats']} | {r['sharing']:,} / {r['bound']:,} ({ratio:.2f}%) | {exact} |"
            )
    return "\n".join(rows)


def exact_table() -> str:
    """Worst time of ``make_groups`` over histories and seeds, for each small n."""
    rows = ["| users | slowest s | median s | runs |", "|---:|---:|---:|---:|"]
    for users in EXACT_SIZES:
        times = []
        for history in EXACT_HISTORIES:
            rounds = history if isinstance(history, int) else max(1, int(users * history))
            for seed in EXACT_SEEDS:
                work = generate(users, rounds, seed)
                participants = [Participant(uid, hobbies) for uid, hobbies in work.users]
                start = time.perf_counter()
                make_groups(participants, work.history, work.last_trio, seed=seed)
                times.append(time.perf_counter() - start)
        times.sort()
        rows.append(f"| {users} | {times[-1]:.3f} | {times[len(times) // 2]:.3f} | {len(times)} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Matching benchmark (markdown output).")
    parser.add_argument("--child", nargs=2, metavar=("ALGORITHM", "USERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
    else:
        print(f"{ROUNDS} past rounds, workload seed {SEED}, one process per row\n")
        print(table())
        print("\nExact path (n <= 400), 10 or n/2 past rounds, seeds 1-3\n")
        print(exact_table())
        print(f"\nA whole round in the service, {bench_round.ROUNDS} consecutive rounds\n")
        print(bench_round.table(bench_round.SIZES, bench_round.ROUNDS))


if __name__ == "__main__":
    main()
