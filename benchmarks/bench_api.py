"""API load benchmark: the whole stack behind the gateway, driven by locust from another process.

    python -m benchmarks.bench_api [--seconds 45] [--clients 16] [--accounts 100]

(what `make bench-api` runs, from the repo root). Starts the four services and the gateway as
`make run` does, on a fresh database and event prefix (DATABASE_URL / NATS_URL if set, else
embedded servers; see unimatch_stack.testinfra), registers ``--accounts`` users, then runs
locust headless with ``--clients`` clients looping without pause over the mixed workload of
benchmarks/locustfile_api.py for ``--seconds``. Prints requests/s and p50/p99 latency per
endpoint and the error count (exit 1 if any), and the cost of one Argon2id hash and verify,
which bounds login throughput. Logins all succeed, so throttling never trips.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from pwdlib import PasswordHash

from unimatch_stack.supervisor import SERVICES, Stack
from unimatch_stack.testinfra import session_infra

LOCUSTFILE = Path(__file__).with_name("locustfile_api.py")
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def register_accounts(gateway: str, count: int) -> list[dict]:
    def register(i: int) -> dict:
        email = f"bench-{i}-{secrets.token_hex(3)}@example.com"
        body = {"email": email, "password": PASSWORD, "hobby": [1 + i % 5, 6 + i % 7]}
        response = httpx.post(f"{gateway}/users/api/register/", json=body, timeout=60)
        response.raise_for_status()
        return {"email": email, "password": PASSWORD, "token": response.json()["token"]}

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(register, range(count)))


def argon2_ms(rounds: int = 10) -> tuple[float, float]:
    """Median milliseconds of one hash and one verify with auth's parameters."""
    hasher = PasswordHash.recommended()
    stored = hasher.hash(PASSWORD)

    def timed(call) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    return timed(lambda: hasher.hash(PASSWORD)), timed(lambda: hasher.verify(PASSWORD, stored))


def run_locust(gateway: str, users_file: Path, clients: int, seconds: int, out: Path) -> Path:
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        gateway,
        "--users",
        str(clients),
        "--spawn-rate",
        str(clients),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(out / "api"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    env = {**os.environ, "BENCH_API_USERS": str(users_file)}
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"locust failed:\n{run.stderr[-3000:]}")
    return out / "api_stats.csv"


def report(stats_csv: Path, seconds: int, clients: int) -> int:
    """Print the per-endpoint table; return the number of failed requests."""
    rows = list(csv.DictReader(stats_csv.open()))
    print(f"\n{clients} clients, {seconds} s, no think time\n")
    print("| endpoint | requests | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        name = "**all**" if row["Name"] == "Aggregated" else row["Name"]
        print(
            f"| {name} | {row['Request Count']} | {float(row['Requests/s']):.0f} "
            f"| {row['50%']} | {row['99%']} | {row['Failure Count']} |"
        )
    return int(next(r for r in rows if r["Name"] == "Aggregated")["Failure Count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=45)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=100)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="unimatch-bench-api-") as tmp,
        session_infra() as infra,
        Stack(
            Path(tmp),
            infra.database_url,
            infra.nats_url,
            gateway_port=free_port(),
            service_ports={spec.name: free_port() for spec in SERVICES},
            extra_env={"UNIMATCH_EVENT_PREFIX": infra.event_prefix, "LOG_LEVEL": "WARNING"},
            ready_timeout=120,
        ) as stack,
    ):
        gateway = f"http://127.0.0.1:{stack.gateway_port}"
        users_file = Path(tmp) / "users.json"
        users_file.write_text(json.dumps(register_accounts(gateway, args.accounts)))
        stats = run_locust(gateway, users_file, args.clients, args.seconds, Path(tmp))
        errors = report(stats, args.seconds, args.clients)
    hash_ms, verify_ms = argon2_ms()
    print(
        f"\nArgon2id (auth's parameters), median of 10: hash {hash_ms:.0f} ms, "
        f"verify {verify_ms:.0f} ms; {os.cpu_count()} CPUs"
    )
    print(f"errors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
