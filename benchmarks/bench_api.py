"""API load benchmark: wrk against the gateway of a fresh stack, or against any server
speaking the same API (docs/api.md).

    python -m benchmarks.bench_api [--seconds 10] [--rounds 2] [--scenarios pairs,login,...]
        [--env KEY=VALUE ...] [--json OUT]
    python -m benchmarks.bench_api --target URL --token T --email E --password P
        --taken-email E2 [...]

(`make bench-api BENCH_ARGS="..."` from the repo root). Without ``--target`` it starts the four
services and the gateway as `make run` does, on a fresh database and event prefix
(DATABASE_URL / NATS_URL if set, else Docker or embedded servers; see unimatch_stack.testinfra),
and seeds them through the public API: 39 users plus a staff account, 10 staff rounds, and one
more user whose email is the "taken" one. With ``--target`` it measures that server as it is,
as the given user (who should already have 10 matches).

Each scenario runs ``--rounds`` times for ``--seconds`` with wrk (``--latency --timeout 5s``);
a Lua script counts statuses (and Retry-After on 429/503) across wrk's threads. An error is a
socket error, a timeout or a status outside the scenario's expected set. The CPU column is each
process group's CPU time over the run, as a share of one core, from /proc. Exit 1 if any
scenario had errors, 2 if the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import psycopg

from unimatch_stack.infra import free_ports
from unimatch_stack.supervisor import SERVICES, Stack, StackError
from unimatch_stack.testinfra import session_infra

MARKER = "BENCH_JSON "
PASSWORD = "bench-Pa55word-1"
ADMIN_EMAIL = "bench-admin@example.com"
# With the staff account (matching counts it too) 40 take part: every round is pairs only,
# so the bench user gets exactly one match per round.
SEED_USERS = 39
SEED_ROUNDS = 10
SEED_TIMEOUT = 60.0
# 400 announcement mails at the notifier's default 10 per second, with room to spare.
SEED_MAIL_TIMEOUT = 180.0
PATHS = {
    "pairs": "/users/api/pairs/",
    "tags": "/users/api/tags/",
    "me": "/users/api/me/",
    "hobby_all": "/users/api/hobby/all",
    "days_to_match": "/users/api/days-to-match/",
    "login": "/auth/token/login/",
    "register": "/users/api/register/",
}
SCENARIOS = ("pairs", "tags", "me", "hobby_all", "days_to_match", "login", "flood")
THROTTLED = (429, 503)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVICE_MODULES = {spec.module: spec.name for spec in SERVICES}
STACK_GROUPS = {*SERVICE_MODULES.values(), "gateway"}

# Loaded into every wrk thread and into the setup/done state. response() counts per thread;
# done() runs in the state setup() ran in, so it keeps the threads to read their counters.
LUA_COMMON = r"""
local threads = {}
counts = {}
retry_after = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 429 or status == 503 then
    for name, _ in pairs(headers) do
      if string.lower(name) == "retry-after" then
        retry_after[status] = (retry_after[status] or 0) + 1
        break
      end
    end
  end
end

local function add(into, from)
  for status, n in pairs(from or {}) do
    into[tostring(status)] = (into[tostring(status)] or 0) + n
  end
end

local function encode(counter)
  local items = {}
  for status, n in pairs(counter) do
    items[#items + 1] = string.format('"%s":%d', status, n)
  end
  return "{" .. table.concat(items, ",") .. "}"
end

function done(summary, latency, requests)
  local statuses, retries = {}, {}
  for _, thread in ipairs(threads) do
    add(statuses, thread:get("counts"))
    add(retries, thread:get("retry_after"))
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.2f,'
    .. '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f},'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
    .. '"statuses":%s,"retry_after":%s}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout,
    encode(statuses), encode(retries)))
end
"""

# One request over and over; args: method, token ("" for none), JSON body ("" for none).
LUA_SINGLE = r"""
function init(args)
  wrk.method = args[1]
  if args[2] ~= "" then
    wrk.headers["Authorization"] = "Token " .. args[2]
  end
  if args[3] ~= "" then
    wrk.body = args[3]
    wrk.headers["Content-Type"] = "application/json"
  end
end
"""

# GETs of several paths in turn; args: token, path, path, ...
LUA_ROTATE = r"""
local prepared = {}
local next_index = 0

function init(args)
  local headers = {Authorization = "Token " .. args[1]}
  for i = 2, #args do
    prepared[#prepared + 1] = wrk.format("GET", args[i], headers)
  end
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end
"""


class BenchError(RuntimeError):
    """The benchmark could not run (seeding failed, wrk printed no result, ...)."""


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    email: str
    password: str
    taken_email: str
    # The stack this tool started: its services and gateway, not those of any other stack on
    # the machine, are what the CPU column counts. Empty for --target: every such process.
    stack_pids: frozenset[int] = frozenset()
    # Where that stack's services and gateway write their logs (a temporary directory).
    log_dir: Path | None = None


@dataclass(frozen=True)
class Load:
    """One wrk process: what it sends and which answers count as correct."""

    name: str
    path: str
    threads: int
    connections: int
    args: tuple[str, ...]
    ok: frozenset[int]
    rotate: bool = False
    retry_ok: bool = False  # 429/503 carrying Retry-After are correct too


@dataclass
class Row:
    scenario: str
    round: int
    result: dict
    errors: int
    cpu: dict[str, float]


def loads(scenario: str, target: Target, reads: tuple[str, ...]) -> list[Load]:
    """The wrk processes of one scenario; the flood's three run at the same time."""
    login = ("POST", "", json.dumps({"email": target.email, "password": target.password}))
    body = {"email": target.taken_email, "password": PASSWORD, "first_name": "B", "hobby": [1]}
    register = ("POST", "", json.dumps(body))
    ok, created, refused = frozenset({200}), frozenset({201}), frozenset({400})
    if scenario == "login":
        return [Load("login", PATHS["login"], 2, 4, login, created)]
    if scenario == "flood":
        rotation = (target.token, *reads)
        return [
            Load("flood/reads", reads[0], 2, 16, rotation, ok, rotate=True),
            Load("flood/logins", PATHS["login"], 1, 20, login, created, retry_ok=True),
            Load("flood/registrations", PATHS["register"], 1, 20, register, refused, retry_ok=True),
        ]
    token = "" if scenario in ("hobby_all", "days_to_match") else target.token
    return [Load(scenario, PATHS[scenario], 2, 16, ("GET", token, ""), ok)]


def count_errors(load: Load, result: dict) -> int:
    """Socket errors, timeouts and unexpected statuses (a 429/503 without Retry-After is one);
    a load that got no answer at all within the run (wrk does not count it) is one too."""
    errors = result["errors"]
    bad = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    if result["requests"] == 0:
        bad += 1
    for status, n in result["statuses"].items():
        if int(status) in load.ok:
            continue
        if load.retry_ok and int(status) in THROTTLED:
            n -= result["retry_after"].get(status, 0)
        bad += n
    return bad


# CPU accounting from /proc


@dataclass(frozen=True)
class CpuSample:
    at: float
    busy_ticks: int  # the whole machine, all cores
    processes: dict[int, tuple[int, list[str], int]]  # pid -> (ppid, argv, utime + stime)


def cpu_sample() -> CpuSample:
    processes = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:  # exited meanwhile
            continue
        head, _, tail = stat.rpartition(")")
        fields = tail.split()
        # A zombie (a wrk not yet reaped) has no cmdline, but still its name and CPU times.
        argv = [part.decode(errors="replace") for part in cmdline.split(b"\0") if part]
        processes[int(name)] = (
            int(fields[1]),
            argv or [head.partition("(")[2]],
            int(fields[11]) + int(fields[12]),
        )
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    busy = user + nice + system + irq + softirq + steal
    return CpuSample(time.monotonic(), busy, processes)


def classify(argv: list[str]) -> str | None:
    """The group a command line belongs to, or None for processes we do not report."""
    program = os.path.basename(argv[0])
    if program == "caddy":
        return "gateway"
    if program == "nats-server":
        return "nats"
    if program == "wrk":
        return "wrk"
    if argv[0].startswith("postgres") or "/postgres" in argv[0]:
        return "postgres"
    if any("gunicorn" in os.path.basename(arg) for arg in argv[:2]):
        return "gunicorn"
    for flag, module in zip(argv, argv[1:], strict=False):
        if flag == "-m" and module.partition(".")[0] in SERVICE_MODULES:
            return SERVICE_MODULES[module.partition(".")[0]]
    return None


def owner(pid: int, processes: dict[int, tuple[int, list[str], int]]) -> tuple[str, int] | None:
    """The group of the process or of its nearest classified ancestor, so that workers a
    service spawns (``python -c from multiprocessing.spawn ...``) count for the service;
    with the pid of the process that matched."""
    while pid in processes:
        ppid, argv, _ = processes[pid]
        if group := classify(argv):
            return group, pid
        pid = ppid
    return None


def cpu_shares(before: CpuSample, after: CpuSample, stack_pids: frozenset[int]) -> dict[str, float]:
    """Cores used per group between two samples, plus the machine's total."""
    seconds = after.at - before.at
    ticks: dict[str, int] = defaultdict(int)
    for pid, (_, _, used) in after.processes.items():
        found = owner(pid, after.processes)
        if found is None:
            continue
        group, matched = found
        if stack_pids and group in STACK_GROUPS and matched not in stack_pids:
            continue  # another stack's service or gateway
        earlier = before.processes[pid][2] if pid in before.processes else 0
        ticks[group] += max(0, used - earlier)
    shares = {group: n / CLK_TCK / seconds for group, n in ticks.items()}
    shares["machine"] = (after.busy_ticks - before.busy_ticks) / CLK_TCK / seconds
    return shares


# Running wrk


def run_loads(
    wrk: str, target: Target, group: list[Load], seconds: int, work: Path
) -> tuple[list[dict], dict[str, float]]:
    """Run the loads at once; their wrk results and the CPU shares over the run."""
    scripts = {False: work / "single.lua", True: work / "rotate.lua"}
    started = []
    before = cpu_sample()
    for load in group:
        out = (work / f"{load.name.replace('/', '-')}.out").open("w+")
        command = [
            wrk,
            f"-t{load.threads}",
            f"-c{load.connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(scripts[load.rotate]),
            target.url + load.path,
            "--",
            *load.args,
        ]
        started.append((subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT), out))
    # Wait without reaping: an exited wrk stays in /proc, with its CPU time, until wait().
    for proc, _ in started:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    after = cpu_sample()
    results = []
    for load, (proc, out) in zip(group, started, strict=True):
        proc.wait()
        out.seek(0)
        text = out.read()
        out.close()
        line = next((ln for ln in text.splitlines() if ln.startswith(MARKER)), None)
        if line is None:
            raise BenchError(f"wrk ({load.name}) exited {proc.returncode} with no result:\n{text}")
        results.append(json.loads(line.removeprefix(MARKER)))
    return results, cpu_shares(before, after, target.stack_pids)


def answers_me(target: Target) -> bool:
    """False if the target has no /users/api/me/ (the original app may not)."""
    url = target.url + PATHS["me"]
    try:
        response = httpx.get(url, headers={"Authorization": f"Token {target.token}"}, timeout=10)
    except httpx.HTTPError as exc:
        raise BenchError(f"{url}: {exc}") from exc
    return response.status_code != 404


# Seeding a fresh stack


def wait_until(check: Callable[[], bool], what: str, timeout: float = SEED_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"seeding: {what} not within {timeout:.0f} s")
        time.sleep(0.25)


def register_user(api: httpx.Client, email: str, hobbies: list[int]) -> dict:
    body = {"email": email, "password": PASSWORD, "first_name": "Bench", "hobby": hobbies}
    response = api.post(PATHS["register"], json=body)
    if response.status_code != 201:
        raise BenchError(f"seeding: register {email}: {response.status_code} {response.text}")
    return response.json()


def seed(api: httpx.Client, database_url: str, admin_password: str) -> Target:
    """Users, 10 staff rounds, then wait until the bench user sees its 10 matches."""
    run = secrets.token_hex(3)
    emails = [f"bench-{run}-{i}@example.com" for i in range(SEED_USERS)]
    with ThreadPoolExecutor(4) as pool:
        users = list(
            pool.map(
                lambda i: register_user(api, emails[i], [1 + i % 5, 6 + i % 7]), range(SEED_USERS)
            )
        )
    ids = [user["user"]["id"] for user in users]

    # Matching learns participants from events and the API cannot tell when it has; read its
    # table (as tests/e2e do) so that no round runs without some of them.
    def matching_knows_all() -> bool:
        with psycopg.connect(database_url, autocommit=True) as connection:
            query = "SELECT count(*) FROM matching.participant WHERE user_id = ANY(%s)"
            return connection.execute(query, (ids,)).fetchone()[0] == len(ids)

    wait_until(matching_knows_all, f"matching learning the {len(ids)} users")
    login = api.post(PATHS["login"], json={"email": ADMIN_EMAIL, "password": admin_password})
    if login.status_code != 201:
        raise BenchError(f"seeding: admin login: {login.status_code} {login.text}")
    staff = {"Authorization": f"Token {login.json()['token']}"}
    for _ in range(SEED_ROUNDS):
        response = api.post("/matching/api/rounds/", headers=staff)
        if response.status_code != 201:
            raise BenchError(f"seeding: round: {response.status_code} {response.text}")

    bench = {"Authorization": f"Token {users[0]['token']}"}

    def bench_user_matched() -> bool:
        response = api.get(PATHS["pairs"], headers=bench)
        return response.status_code == 200 and len(response.json()) >= SEED_ROUNDS

    wait_until(bench_user_matched, f"the bench user's {SEED_ROUNDS} matches")

    # Every participant is mailed about every match (no one has Telegram here), paced at
    # MAIL_MESSAGES_PER_SECOND: measuring before the notifier is done would measure its
    # rendering and sending too, not the scenario.
    def announcements_mailed() -> bool:
        with psycopg.connect(database_url, autocommit=True) as connection:
            query = (
                "SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'sending'))"
                " FROM notifier.outgoing_mail"
            )
            queued, unsent = connection.execute(query).fetchone()
            return queued >= SEED_ROUNDS * (SEED_USERS + 1) and unsent == 0

    wait_until(announcements_mailed, "the notifier mailing every announcement", SEED_MAIL_TIMEOUT)
    taken = register_user(api, f"bench-{run}-taken@example.com", [1])
    return Target(
        url=str(api.base_url).rstrip("/"),
        token=users[0]["token"],
        email=emails[0],
        password=PASSWORD,
        taken_email=taken["user"]["email"],
    )


@contextmanager
def seeded_stack(env: dict[str, str]) -> Iterator[Target]:
    """A fresh stack on free ports with a staff account, seeded; stopped afterwards."""
    admin_password = secrets.token_urlsafe(16)
    ports = free_ports(len(SERVICES) + 1)
    with (
        tempfile.TemporaryDirectory(prefix="unimatch-bench-api-") as var_dir,
        session_infra() as infra,
        Stack(
            Path(var_dir),
            infra.database_url,
            infra.nats_url,
            gateway_port=ports[0],
            service_ports={spec.name: port for spec, port in zip(SERVICES, ports[1:], strict=True)},
            extra_env={
                "UNIMATCH_EVENT_PREFIX": infra.event_prefix,
                "LOG_LEVEL": "WARNING",
                "UNIMATCH_ADMIN_EMAIL": ADMIN_EMAIL,
                "UNIMATCH_ADMIN_PASSWORD": admin_password,
                **env,
            },
            ready_timeout=120,
        ) as stack,
        httpx.Client(base_url=f"http://127.0.0.1:{stack.gateway_port}", timeout=60) as api,
    ):
        target = seed(api, infra.database_url, admin_password)
        pids = frozenset(process.proc.pid for process in stack.processes.values() if process.proc)
        yield replace(target, stack_pids=pids, log_dir=Path(var_dir) / "log")


# Report


def cpu_text(cpu: dict[str, float]) -> str:
    groups = sorted(
        ((g, s) for g, s in cpu.items() if g != "machine" and s >= 0.005), key=lambda item: -item[1]
    )
    shown = ", ".join(f"{group} {share:.2f}" for group, share in groups)
    return f"{shown}; machine {cpu['machine']:.2f} of {os.cpu_count()}"


def statuses_text(result: dict) -> str:
    parts = []
    for status, n in sorted(result["statuses"].items()):
        with_retry = result["retry_after"].get(status)
        parts.append(f"{status}×{n}" + (f" ({with_retry} with Retry-After)" if with_retry else ""))
    sockets = {k: v for k, v in result["errors"].items() if k != "status" and v}
    return ", ".join(parts + [f"{k} errors {v}" for k, v in sockets.items()]) or "no responses"


def table_row(row: Row, cpu: str) -> str:
    r = row.result
    latency = r["latency_ms"]
    return (
        f"| {row.scenario} | {row.round} | {r['rps']:.0f} | {latency['p50']:.1f} "
        f"| {latency['p99']:.1f} | {row.errors} | {cpu} |"
    )


def summary(rows: list[Row]) -> list[str]:
    """The best round (by req/s) per scenario, with errors over all its rounds."""
    lines = [
        "| scenario | best round | req/s | p50 ms | p99 ms | errors (all rounds) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(row.scenario for row in rows):
        mine = [row for row in rows if row.scenario == name]
        best = max(mine, key=lambda row: row.result["rps"])
        latency = best.result["latency_ms"]
        lines.append(
            f"| {name} | {best.round} | {best.result['rps']:.0f} | {latency['p50']:.1f} "
            f"| {latency['p99']:.1f} | {sum(row.errors for row in mine)} |"
        )
    return lines


def benchmark(wrk: str, target: Target, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Every scenario, round after round, printing table rows as they come."""
    rows: list[Row] = []
    notes: list[str] = []
    scenarios, reads = args.scenarios, (PATHS["pairs"], PATHS["tags"], PATHS["me"])
    if not answers_me(target):
        scenarios, reads = [name for name in scenarios if name != "me"], reads[:2]
        notes.append("me: skipped, the target answers 404 for /users/api/me/")
    print(
        f"\n{args.rounds} round(s) of {args.seconds} s per scenario, {os.cpu_count()} CPUs; "
        "CPU in cores (1.00 = one core busy)\n"
    )
    print("| scenario | round | req/s | p50 ms | p99 ms | errors | CPU (cores) by process |")
    print("|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="unimatch-bench-wrk-") as tmp:
        work = Path(tmp)
        (work / "single.lua").write_text(LUA_COMMON + LUA_SINGLE)
        (work / "rotate.lua").write_text(LUA_COMMON + LUA_ROTATE)
        for scenario in scenarios:
            group = loads(scenario, target, reads)
            for round_no in range(1, args.rounds + 1):
                results, cpu = run_loads(wrk, target, group, args.seconds, work)
                for i, (load, result) in enumerate(zip(group, results, strict=True)):
                    row = Row(load.name, round_no, result, count_errors(load, result), cpu)
                    rows.append(row)
                    print(table_row(row, cpu_text(cpu) if i == 0 else "(same run)"), flush=True)
                    note = f"{load.name} round {round_no}: {statuses_text(result)}"
                    if load.name == "flood/logins":
                        max_ms = result["latency_ms"]["max"]
                        note += f"; max latency {max_ms:.0f} ms (must stay under 2000 ms)"
                    if row.errors or scenario == "flood":
                        notes.append(note)
    return rows, notes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per scenario")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--json", type=Path, help="also write every raw result here")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the stack's services (repeatable)",
    )
    target = parser.add_argument_group("an already running server (no stack, no seeding)")
    target.add_argument("--target", help="base URL, e.g. http://127.0.0.1:8000")
    target.add_argument("--token", help="token of a user with 10 matches")
    target.add_argument("--email", help="that user's email, for logins")
    target.add_argument("--password", help="that user's password")
    target.add_argument("--taken-email", help="an email already registered")
    args = parser.parse_args(argv)

    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    credentials = (args.token, args.email, args.password, args.taken_email)
    if args.target and not all(credentials):
        parser.error("--target needs --token, --email, --password and --taken-email")
    if not args.target and any(credentials):
        parser.error("--token, --email, --password and --taken-email go with --target")
    if args.target and args.env:
        parser.error("--env configures the stack this tool starts, not a --target")
    if any("=" not in pair for pair in args.env):
        parser.error("--env takes KEY=VALUE")
    args.env = dict(pair.split("=", 1) for pair in args.env)
    return args


def keep_logs(log_dir: Path) -> Path:
    """Copy a run's logs out of its temporary directory, under the clone's var/, so the
    errors can be looked into after the stack is gone."""
    kept = (
        Path(__file__).resolve().parents[1] / "var" / "bench-logs" / time.strftime("%Y%m%d-%H%M%S")
    )
    shutil.copytree(log_dir, kept)
    return kept.resolve()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("bench_api: wrk not found; apt-get install wrk", file=sys.stderr)
        return 2
    try:
        if args.target:
            target = Target(
                args.target.rstrip("/"), args.token, args.email, args.password, args.taken_email
            )
            rows, notes = benchmark(wrk, target, args)
        else:
            with seeded_stack(args.env) as target:
                rows, notes = benchmark(wrk, target, args)
                if target.log_dir and any(row.errors for row in rows):
                    kept = keep_logs(target.log_dir)
                    notes.append(f"errors: the stack's logs are kept in {kept}")
    except (BenchError, StackError, httpx.HTTPError) as exc:
        print(f"bench_api: {exc}", file=sys.stderr)
        return 2

    print()
    for note in notes:
        print(f"- {note}")
    print("\nBest round per scenario:\n")
    print("\n".join(summary(rows)))
    errors = sum(row.errors for row in rows)
    print(f"\nerrors: {errors}")
    if args.json:
        raw = {
            "target": args.target or "fresh stack",
            "seconds": args.seconds,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "notes": notes,
            "results": [vars(row) for row in rows],
        }
        args.json.write_text(json.dumps(raw, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
