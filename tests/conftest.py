"""Fixtures every suite shares: the infrastructure (PostgreSQL + NATS) and in-process services.

Infrastructure resolves as the README says: DATABASE_URL/NATS_URL from the environment, else
testcontainers when Docker answers, else embedded servers under a temporary directory.
"""

import os
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager


@dataclass(frozen=True)
class Infra:
    database_url: str
    nats_url: str
    event_prefix: str

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "UNIMATCH_EVENT_PREFIX": self.event_prefix,
        }


@pytest.fixture(scope="session")
def infra():
    """Interim: the environment's servers, a fresh database per session."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    nats_url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    name = f"unimatch_test_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    yield Infra(url, nats_url, f"t{secrets.token_hex(4)}.")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_prefix(infra):
    """An infra whose events are isolated from every other test's."""
    return Infra(infra.database_url, infra.nats_url, f"t{secrets.token_hex(4)}.")


@asynccontextmanager
async def running_app(app):
    """Run a service's FastAPI app in this process (lifespan included) behind an httpx client."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client
