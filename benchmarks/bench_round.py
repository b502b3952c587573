"""A whole round inside the matching service: commit time and time until every
``pair.created`` is published. Part of ``make bench-matching``; alone:

    python -m benchmarks.bench_round [--users 10000 100000] [--rounds 3]

PostgreSQL and NATS come as in the tests (DATABASE_URL / NATS_URL, else Docker, else
embedded; ``unimatch_stack.testinfra``), with a fresh database and event prefix. The
participants (0-4 of 40 hobbies, Zipf as in ``workload.py``) are written straight into
matching's read model; then ``--rounds`` consecutive staff rounds run through the service
layer with the outbox relay running, so later rounds avoid the earlier pairs. Each round is
timed from its start to its commit (with the CPU this process spent meanwhile: PostgreSQL's
is not in it, and unlike the wall time it hardly moves when other work shares the machine),
and to the moment the outbox has no unpublished row left (every event acknowledged by
JetStream); the stream's message count is checked against the groups. After each round it
also prints what matching's tables and the event stream hold (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime

import psycopg

from benchmarks.workload import generate
from matching_service import service
from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from unimatch_shared.runtime import ServiceRuntime
from unimatch_stack.testinfra import session_infra

SIZES = (10_000, 100_000)
ROUNDS = 3
POLL_SECONDS = 0.05


async def seed_participants(database_url: str, users: int) -> None:
    now = datetime.now(UTC)
    people = generate(users, rounds=0, seed=1).users
    async with await psycopg.AsyncConnection.connect(
        database_url, options="-csearch_path=matching"
    ) as connection:
        async with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY participant (user_id, email, first_name, last_name, hobbies, paused,"
                " changed_at) FROM STDIN"
            ) as copy,
        ):
            for uid, hobbies in people:
                names = [{"id": h, "name": f"Hobby {h}"} for h in sorted(hobbies)]
                row = (uid, f"u{uid}@example.com", f"First{uid}", f"Last{uid}")
                await copy.write_row((*row, json.dumps(names), False, now))
        await connection.commit()


async def unpublished(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(
        database_url, options="-csearch_path=matching", autocommit=True
    ) as connection:
        cursor = await connection.execute(
            "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
        )
        return (await cursor.fetchone())[0]


async def matching_megabytes(database_url: str) -> float:
    """What matching's schema holds on disk (tables, indexes, TOAST), for docs/scaling.md."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as connection:
        cursor = await connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'matching' AND c.relkind IN ('r', 'm')"
        )
        return float((await cursor.fetchone())[0]) / 1e6


async def measure(users: int, rounds: int) -> list[dict]:
    with session_infra() as infra:
        settings = MatchingSettings(
            database_url=infra.database_url,
            nats_url=infra.nats_url,
            unimatch_event_prefix=infra.event_prefix,
            log_level="WARNING",
        )
        # The runtime as the service builds it. Its consumers get no events here, and its
        # scheduler takes its start as the epoch: no scheduled round falls due unless a slot
        # passes during the run.
        runtime: ServiceRuntime = create_app(settings).state.runtime
        await runtime.start()
        try:
            await seed_participants(infra.database_url, users)
            results = []
            js = runtime.messaging.broker.connection.jetstream()
            for _ in range(rounds):
                started, cpu_started = time.perf_counter(), time.process_time()
                match_round = await service.run_round(runtime.unit_of_work(), settings.schedule)
                committed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                while await unpublished(infra.database_url):
                    await asyncio.sleep(POLL_SECONDS)
                published = time.perf_counter() - started
                info = await js.stream_info(runtime.messaging.stream.name)
                results.append(
                    {
                        "groups": match_round.groups,
                        "commit": committed,
                        "commit_cpu": cpu,
                        "published": published,
                        "tables_mb": await matching_megabytes(infra.database_url),
                        "stream_mb": info.state.bytes / 1e6,
                    }
                )
            in_stream = info.state.messages
        finally:
            await runtime.stop()
    expected = sum(r["groups"] for r in results)
    if in_stream != expected:
        raise SystemExit(f"{in_stream} pair.created in the stream, expected {expected}")
    return results


def table(sizes, rounds: int) -> str:
    rows = [
        "| users | round | groups | committed s | its CPU s | every `pair.created` published s"
        " | matching's tables MB | event stream MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for users in sizes:
        for number, r in enumerate(asyncio.run(measure(users, rounds)), start=1):
            rows.append(
                f"| {users:,} | {number} | {r['groups']:,} | {r['commit']:.2f} "
                f"| {r['commit_cpu']:.2f} | {r['published']:.2f} | {r['tables_mb']:.0f} "
                f"| {r['stream_mb']:.0f} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Whole-round benchmark (markdown output).")
    parser.add_argument("--users", type=int, nargs="+", default=SIZES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print(table(args.users, args.rounds))


if __name__ == "__main__":
    main()
