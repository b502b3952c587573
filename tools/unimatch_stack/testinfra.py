"""PostgreSQL and NATS for a pytest session (used by tests/conftest.py).

Each server resolves on its own, first match wins:
1. DATABASE_URL / NATS_URL from the environment (CI, or a developer's own servers);
2. testcontainers (postgres:16, nats:2 -js) when a Docker engine answers;
3. the embedded servers `make run` uses, under a temporary var dir.

Whatever the source, the session gets a fresh database (dropped afterwards) and a fresh
UNIMATCH_EVENT_PREFIX, so parallel sessions and leftovers never see each other's data or events.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from unimatch_stack.infra import drop_database, embedded_nats, embedded_postgres, ensure_database


@dataclass(frozen=True)
class SessionInfra:
    database_url: str
    nats_url: str
    event_prefix: str
    sources: Mapping[str, str]  # {"postgres": "env" | "docker" | "embedded", "nats": ...}

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


def forget_event_prefix(nats_url: str, prefix: str) -> None:
    """Delete the streams and KV buckets a test made under ``prefix``.

    On a shared NATS (CI's, a developer's) they would otherwise pile up run after run; a
    server holding thousands of streams answers JetStream requests slowly enough to fail
    tests that have nothing to do with them."""

    async def forget() -> None:
        import nats

        stream_prefix = re.sub(r"[^A-Za-z0-9_-]", "_", prefix)  # as Messaging names streams
        owned = (stream_prefix, f"KV_{stream_prefix}")
        client = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=1)
        try:
            js = client.jetstream()
            for info in await js.streams_info():
                if info.config.name and info.config.name.startswith(owned):
                    await js.delete_stream(info.config.name)
        finally:
            await client.close()

    # A thread of its own: the caller may be inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, forget()).result()


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


@contextmanager
def session_infra(environ: Mapping[str, str] = os.environ) -> Iterator[SessionInfra]:
    """Resolve PostgreSQL and NATS for one test session; see the module docstring."""
    sources = {"postgres": _source("DATABASE_URL", environ), "nats": _source("NATS_URL", environ)}
    with ExitStack() as stack:
        if "embedded" in sources.values():
            var_dir = Path(tempfile.mkdtemp(prefix="unimatch-test-"))
            stack.callback(shutil.rmtree, var_dir, ignore_errors=True)
        # port=0: never take the ports of a `make run` that may be running at the same time.
        if sources["postgres"] == "env":
            server_url = environ["DATABASE_URL"]
        elif sources["postgres"] == "docker":
            server_url = stack.enter_context(_postgres_container())
        else:
            server_url = stack.enter_context(embedded_postgres(var_dir, port=0))

        if sources["nats"] == "env":
            nats_url = environ["NATS_URL"]
        elif sources["nats"] == "docker":
            nats_url = stack.enter_context(_nats_container())
        else:
            nats_url = stack.enter_context(embedded_nats(var_dir, port=0))

        database = f"unimatch_test_{secrets.token_hex(4)}"
        database_url = ensure_database(server_url, database)
        stack.callback(drop_database, server_url, database)
        prefix = new_event_prefix()
        stack.callback(forget_event_prefix, nats_url, prefix)
        yield SessionInfra(database_url, nats_url, prefix, sources)
