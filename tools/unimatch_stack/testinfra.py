"""PostgreSQL and NATS for a pytest session (used by tests/conftest.py).

Each server resolves on its own, first match wins:
1. DATABASE_URL / NATS_URL from the environment (CI, or a developer's own servers);
2. testcontainers (postgres:16, nats:2 -js) when a Docker engine answers and the container
   starts: an engine that cannot pull the image (no registry reachable) or start it is
   reported in a warning and passed over;
3. the embedded servers `make run` uses, under a temporary var dir.

Whatever the source, the session gets a fresh database (dropped afterwards) and a fresh
UNIMATCH_EVENT_PREFIX, so parallel sessions and leftovers never see each other's data or events.

Services started as a whole system (``service_env``) use their own credentials as under
`make run` (docs/adr/018-service-credentials.md): a database role per service, made for the
session when the server lets us create roles (dropped with the database), and, on an embedded
NATS, a user per service; ``database_url``/``nats_url`` stay the administrator's, for the
tests themselves. A NATS from the environment or Docker is used without users.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import nats
import psycopg
from nats.js.api import StreamInfo

from unimatch_shared.access import SERVICES
from unimatch_shared.settings import nats_servers
from unimatch_stack import credentials
from unimatch_stack.db_roles import drop_roles
from unimatch_stack.infra import drop_database, embedded_nats, embedded_postgres, ensure_database


@dataclass(frozen=True)
class SessionInfra:
    database_url: str
    nats_url: str
    event_prefix: str
    sources: Mapping[str, str]  # {"postgres": "env" | "docker" | "embedded", "nats": ...}
    # Per service: its own DATABASE_URL / NATS_URL, where the session could make them.
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """The variables a service needs to use this infrastructure."""
        return {
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "UNIMATCH_EVENT_PREFIX": self.event_prefix,
        }


def new_event_prefix() -> str:
    """A subject/stream namespace such as `t3f9a2c.`."""
    return f"t{secrets.token_hex(3)}."


# The streams and KV buckets (``KV_`` + bucket) of a test's event prefix, as Messaging names them.
TEST_STREAM = re.compile(r"(KV_)?t[0-9a-f]{6}_")
# A test stream this old was left by a run that died before deleting it: no session lasts so
# long (the slowest suite's timeout is 30 minutes).
ABANDONED_AFTER = timedelta(hours=3)


def forget_event_prefix(nats_url: str, prefix: str) -> None:
    """Delete the streams and KV buckets a test made under ``prefix``.

    On a shared NATS (CI's, a developer's) they would otherwise pile up run after run; a
    server holding thousands of streams answers JetStream requests slowly enough to fail
    tests that have nothing to do with them."""
    stream_prefix = re.sub(r"[^A-Za-z0-9_-]", "_", prefix)
    _delete_streams(
        nats_url, lambda info: _name(info).startswith((stream_prefix, f"KV_{stream_prefix}"))
    )


def forget_abandoned_test_streams(nats_url: str) -> None:
    """Delete what killed test runs left on this NATS (see ``ABANDONED_AFTER``)."""
    cutoff = datetime.now(UTC) - ABANDONED_AFTER
    _delete_streams(
        nats_url,
        lambda info: (
            bool(TEST_STREAM.match(_name(info)))
            and info.created is not None
            and info.created < cutoff
        ),
    )


def _name(info: StreamInfo) -> str:
    return info.config.name or ""


def _delete_streams(nats_url: str, doomed: Callable[[StreamInfo], bool]) -> None:
    async def delete() -> None:
        client = await nats.connect(
            nats_servers(nats_url), connect_timeout=5, max_reconnect_attempts=1
        )
        try:
            js = client.jetstream()
            streams: list[StreamInfo] = []
            while page := await js.streams_info(offset=len(streams)):  # pages of 256
                streams += page
            for info in filter(doomed, streams):
                await js.delete_stream(_name(info))
        finally:
            await client.close()

    # A thread of its own: the caller may be inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, delete()).result()


@cache
def docker_available() -> bool:
    """True when a Docker engine answers (a docker CLI alone is not enough)."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # no SDK, no socket, engine down: all mean "no Docker"
        return False
    return True


@contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver=None) as container:
        yield container.get_connection_url()


@contextmanager
def _nats_container() -> Iterator[str]:
    from testcontainers.community.nats import NatsContainer

    with NatsContainer("nats:2", jetstream=True) as container:
        yield container.nats_uri()


def _source(variable: str, environ: Mapping[str, str]) -> str:
    if environ.get(variable):
        return "env"
    return "docker" if docker_available() else "embedded"


def _container_or_embedded(
    stack: ExitStack,
    container: Callable[[], AbstractContextManager[str]],
    embedded: Callable[[], AbstractContextManager[str]],
) -> tuple[str, str]:
    """(URL, source) of the container, or of the embedded server when the container cannot be
    had: testcontainers removes what it started before raising."""
    try:
        return stack.enter_context(container()), "docker"
    except Exception as error:  # no image and no registry, or it would not start: any reason
        warnings.warn(
            f"Docker answers but the container could not be started "
            f"({type(error).__name__}: {str(error)[:300]}); using the embedded server",
            stacklevel=2,
        )
    return stack.enter_context(embedded()), "embedded"


@contextmanager
def session_infra(environ: Mapping[str, str] = os.environ) -> Iterator[SessionInfra]:
    """Resolve PostgreSQL and NATS for one test session; see the module docstring."""
    sources = {"postgres": _source("DATABASE_URL", environ), "nats": _source("NATS_URL", environ)}
    with ExitStack() as stack:
        var_dir = Path(tempfile.mkdtemp(prefix="unimatch-test-"))
        stack.callback(shutil.rmtree, var_dir, ignore_errors=True)
        # port=0: never take the ports of a `make run` that may be running at the same time.
        if sources["postgres"] == "env":
            server_url = environ["DATABASE_URL"]
        elif sources["postgres"] == "docker":
            server_url, sources["postgres"] = _container_or_embedded(
                stack, _postgres_container, lambda: embedded_postgres(var_dir, port=0)
            )
        else:
            server_url = stack.enter_context(embedded_postgres(var_dir, port=0))

        event_prefix = new_event_prefix()
        passwords = credentials.Secrets().complete()
        service_env: credentials.ServiceEnv = {}
        if sources["nats"] == "env":
            nats_url = environ["NATS_URL"]
            forget_abandoned_test_streams(nats_url)
        elif sources["nats"] == "docker":
            nats_url, sources["nats"] = _container_or_embedded(
                stack, _nats_container, lambda: embedded_nats(var_dir, port=0)
            )
        else:
            config = credentials.private_file(
                var_dir / credentials.NATS_CONFIG_FILE,
                credentials.nats_config(event_prefix, passwords.nats, passwords.nats_admin),
            )
            server = stack.enter_context(embedded_nats(var_dir, port=0, config=config))
            nats_url = credentials.with_user(server, credentials.ADMIN_USER, passwords.nats_admin)
            service_env = credentials.nats_service_env(server, passwords.nats)

        database = f"unimatch_test_{secrets.token_hex(4)}"
        database_url = ensure_database(server_url, database)
        made_roles: list[str] = []
        stack.callback(drop_roles, server_url, made_roles)  # after the database: unwound last
        stack.callback(drop_database, server_url, database)
        stack.callback(forget_event_prefix, nats_url, event_prefix)
        try:
            own_roles = credentials.database_roles(database_url, database, passwords.database)
            made_roles += [f"{database}_{service}" for service in SERVICES]
        except psycopg.errors.InsufficientPrivilege:
            own_roles = {}  # a server of the developer's that lets us make no roles
        service_env = credentials.merge(service_env, own_roles)
        yield SessionInfra(database_url, nats_url, event_prefix, sources, service_env)
