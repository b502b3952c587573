"""Fault injection against the whole system: real processes, real servers, real crashes.

Every module starts its own ``FaultSystem``: embedded PostgreSQL and nats-server (or a cluster
of nats-servers) under a temporary directory on free ports (never DATABASE_URL / NATS_URL from
the environment: these tests kill them), the four services and the gateway through
``unimatch_stack.Stack``, and the stand-in Telegram Bot API. See docs/faults.md.

Each scenario reports ``faults: <scenario>: sent=N delivered=N duplicated=N lost=N`` through
``report``; the lines are printed at the end of the run, whatever the capture mode.
"""

import asyncio
import re
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import psycopg
import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, auth, new_email
from tests.support.helpers import eventually
from tests.support.system import system_stack
from tests.support.telegram_stub import ThreadedTelegram
from unimatch_shared.events import Event, GroupMember, PairCreated
from unimatch_shared.settings import nats_servers
from unimatch_stack.infra import EmbeddedNats, EmbeddedPostgres, NatsCluster, ensure_database
from unimatch_stack.supervisor import SERVICES, Stack
from unimatch_stack.testinfra import new_event_prefix

DATABASE = "unimatch"
ANNOUNCEMENT = "☕ У вас нов"  # how every match announcement starts
CLIENT_TIMEOUT = 10.0  # a request that hangs longer than this fails the scenario
SUMMARY_KEY = pytest.StashKey[list[str]]()
# Log lines worth showing when a test fails: warnings, errors, uvicorn's plain-text verdicts.
NOTEWORTHY = re.compile(r"WARNING|ERROR|failed")


@dataclass
class FaultSystem:
    var_dir: Path
    postgres: dict[str, EmbeddedPostgres]  # "main", plus one per service given its own
    database_urls: dict[str, str]  # service name -> its DATABASE_URL
    nats: EmbeddedNats | NatsCluster
    stack: Stack
    telegram: ThreadedTelegram
    prefix: str
    _clients: list[httpx.Client] = field(default_factory=list)

    # HTTP through the gateway
    def client(self) -> httpx.Client:
        """A gateway client with a bounded timeout (a hang fails the test, it never waits)."""
        client = httpx.Client(base_url=self.stack.gateway_url, timeout=CLIENT_TIMEOUT)
        self._clients.append(client)
        return client

    def register(self, api: httpx.Client, **fields) -> httpx.Response:
        body = {"email": new_email(), "password": "pa55word", **fields}
        return api.post("/users/api/register/", json=body)

    def staff(self, api: httpx.Client) -> dict[str, str]:
        login = api.post(
            "/auth/token/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 201, login.text
        return auth(login.json()["token"])

    # SQL on one service's schema (on whichever server that service uses)
    def sql(self, service: str, query: str, *params) -> list[tuple]:
        with psycopg.connect(
            self.database_urls[service],
            autocommit=True,
            connect_timeout=5,
            options=f"-csearch_path={service}",
        ) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def processed(self, service: str, event_ids: Sequence) -> int:
        """How many of these events ``service``'s consumers have applied (its inbox)."""
        return self.sql(
            service,
            "SELECT count(*) FROM processed_event WHERE consumer = %s AND event_id = ANY(%s)",
            service,
            list(event_ids),
        )[0][0]

    def announced_participants(self, user_ids: Sequence[int]) -> dict[int, int]:
        """How many ``profile.changed`` events profile emitted per user (its outbox). Applying
        ``user.registered`` emits one each time: what profile's inbox keeps to one when a
        sign-up's event is redelivered. (A redelivered ``pair.created`` cannot duplicate
        history rows with or without the inbox: the match table's key forbids it.)"""
        rows = self.sql(
            "profile",
            "SELECT (payload::jsonb ->> 'user_id')::bigint, count(*) FROM outbox_message "
            "WHERE subject = 'profile.changed' AND (payload::jsonb ->> 'user_id')::bigint "
            "= ANY(%s) GROUP BY 1",
            list(user_ids),
        )
        return dict(rows)

    def round_history(self, round_id: int) -> dict[tuple[int, int], int]:
        """Profile's match rows for one round: (user, partner) -> how many."""
        rows = self.sql(
            "profile",
            "SELECT user_id, partner_id, count(*) FROM match WHERE round_id = %s GROUP BY 1, 2",
            round_id,
        )
        return {(u, p): n for u, p, n in rows}

    def link_chats(self, chats: Mapping[int, int]) -> None:
        """Seed the notifier's chat links ({user id: chat id}) directly, for synthetic users."""
        with (
            psycopg.connect(self.database_urls["notifier"], autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.executemany(
                "INSERT INTO notifier.chat_link (user_id, chat_id, username, linked_at) "
                "VALUES (%s, %s, NULL, now())",
                list(chats.items()),
            )

    def announcements(self) -> dict[int, int]:
        """Match announcements the stand-in Telegram accepted, counted per chat."""
        counts: dict[int, int] = {}
        for sent in list(self.telegram.stub.sent):
            if sent.text.startswith(ANNOUNCEMENT):
                counts[sent.chat_id] = counts.get(sent.chat_id, 0) + 1
        return counts

    def await_announcements(self, chats: set[int], timeout: float) -> None:
        """Return once every one of ``chats`` has had its match announcement."""
        eventually(
            lambda: chats <= set(self.announcements()),
            "every linked member hears about their match",
            timeout=timeout,
        )

    def set_telegram(self, **attributes) -> None:
        """Change the stand-in's behaviour (e.g. ``force_429``) on its own thread."""

        def apply():
            for name, value in attributes.items():
                setattr(self.telegram.stub, name, value)

        self.telegram.loop.call_soon_threadsafe(apply)

    # JetStream, as a relay would publish
    def publish(
        self, events: Sequence[Event], raw: Sequence[tuple[str, bytes]] = (), again: bool = False
    ) -> None:
        """Publish events (``Nats-Msg-Id`` = event id) and raw payloads on their subjects;
        ``again``: under new message ids, as redeliveries JetStream lets through."""

        async def send() -> None:
            client = await nats.connect(nats_servers(self.nats.url))
            try:
                js = client.jetstream()
                for subject, data in raw:
                    await js.publish(self.prefix + subject, data)
                for event in events:
                    await js.publish(
                        self.prefix + event.SUBJECT,
                        event.model_dump_json().encode(),
                        headers={"Nats-Msg-Id": str(uuid.uuid4() if again else event.event_id)},
                    )
            finally:
                await client.close()

        asyncio.run(send())

    def dead_letters(self, subject: str) -> list[tuple[bytes, dict[str, str]]]:
        """Everything on ``<prefix>deadletter.<subject>``: (data, headers)."""
        stream = self.prefix.replace(".", "_") + "UNIMATCH_DEAD_LETTER"

        async def read() -> list[tuple[bytes, dict[str, str]]]:
            client = await nats.connect(nats_servers(self.nats.url))
            try:
                js = client.jetstream()
                state = (await js.stream_info(stream)).state
                found = []
                for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                    message = await js.get_msg(stream, seq)
                    if message.subject == f"{self.prefix}deadletter.{subject}":
                        found.append((message.data, dict(message.headers or {})))
                return found
            finally:
                await client.close()

        return asyncio.run(read())

    def log_warnings(self, per_service: int = 8) -> str:
        """The last warnings and errors in every process's log, to say why a test failed."""
        lines = []
        for process in self.stack.processes.values():
            if process.log_path.exists():
                text = process.log_path.read_text(errors="replace")
                noted = [line for line in text.splitlines() if NOTEWORTHY.search(line)]
                lines += [f"[{process.name}] {line[:400]}" for line in noted[-per_service:]]
        return "\n".join(lines)

    def close(self) -> None:
        for client in self._clients:
            client.close()


@contextmanager
def fault_system(
    var_dir: Path,
    own_database: Sequence[str] = (),
    telegram_options: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    nats_nodes: int = 1,
    instances: Mapping[str, int] | None = None,
) -> Iterator[FaultSystem]:
    """Start everything (``own_database``: services given a PostgreSQL server of their own;
    ``nats_nodes`` above 1: a JetStream cluster, streams replicated on up to three nodes;
    ``instances``: how many of a service, one unless named); stop every process at the end,
    even on failure."""
    with ExitStack() as cleanup:
        servers = {
            name: EmbeddedPostgres(var_dir / f"pg-{name}", port=0)
            for name in ("main", *own_database)
        }
        urls = {}
        for name, server in servers.items():
            cleanup.callback(server.stop)
            urls[name] = ensure_database(server.start(), DATABASE)
        broker: EmbeddedNats | NatsCluster
        if nats_nodes == 1:
            broker = EmbeddedNats(var_dir / "nats-server", port=0)
        else:
            broker = NatsCluster(var_dir / "nats-cluster", nats_nodes, port=0)
            env = {"UNIMATCH_STREAM_REPLICAS": str(min(3, nats_nodes)), **(env or {})}
        cleanup.callback(broker.stop)
        broker.start()
        telegram = ThreadedTelegram(**(telegram_options or {}))
        cleanup.callback(telegram.close)

        prefix = new_event_prefix()
        stack = system_stack(
            var_dir,
            urls["main"],
            broker.url,
            prefix,
            telegram.stub.url,
            env=env,
            service_env={name: {"DATABASE_URL": urls[name]} for name in own_database},
            instances=instances,
        )
        cleanup.callback(stack.stop)
        stack.start()
        system = FaultSystem(
            var_dir=var_dir,
            postgres=servers,
            database_urls={spec.name: urls.get(spec.name, urls["main"]) for spec in SERVICES},
            nats=broker,
            stack=stack,
            telegram=telegram,
            prefix=prefix,
        )
        cleanup.callback(system.close)
        yield system


def synthetic_pairs(n: int, user_ids: Iterator[int], group_ids: Iterator[int]) -> list[PairCreated]:
    """``n`` pair.created events of round 1, as matching's relay would publish them, each for
    two new synthetic users: ids ``next(user_ids)`` and the one after (a module's counters
    step by two), groups from ``group_ids``."""
    events = []
    for _ in range(n):
        first = next(user_ids)
        members = [
            GroupMember(id=uid, first_name=f"U{uid}", last_name="Тест", email=f"{uid}@example.com")
            for uid in (first, first + 1)
        ]
        events.append(
            PairCreated(
                round_id=1,
                group_id=next(group_ids),
                created_at=datetime.now(UTC),
                members=members,
                shared_hobbies=["Спорт"],
            )
        )
    return events


def tally(expected: Collection, found: Mapping) -> dict[str, int]:
    """sent / delivered / duplicated / lost of ``expected`` keys against ``found`` counts, as
    ``report`` takes them."""
    return {
        "sent": len(expected),
        "delivered": sum(1 for key in expected if found.get(key)),
        "duplicated": sum(n - 1 for key, n in found.items() if key in expected and n > 1),
        "lost": sum(1 for key in expected if not found.get(key)),
    }


@pytest.fixture(scope="module")
def var_dir():
    path = Path(tempfile.mkdtemp(prefix="unimatch-faults-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def report(request):
    """``report(scenario, sent=, delivered=, duplicated=, lost=)``: one summary line."""

    def add(scenario: str, *, sent: int, delivered: int, duplicated: int, lost: int) -> None:
        line = (
            f"faults: {scenario}: sent={sent} delivered={delivered} "
            f"duplicated={duplicated} lost={lost}"
        )
        request.config.stash.setdefault(SUMMARY_KEY, []).append(line)

    return add


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed fault test shows the services' last warnings: their logs go with the test's
    temporary directory. (Duck-typed: pytest loads this file apart from the module the tests
    import it as, so its FaultSystem is another class object.)"""
    report = yield
    system = getattr(item, "funcargs", {}).get("system")
    if report.when == "call" and report.failed and hasattr(system, "log_warnings"):
        report.sections.append(("service warnings", system.log_warnings()))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.write_sep("-", "fault scenarios")
        for line in lines:
            terminalreporter.write_line(line)
