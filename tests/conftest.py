"""Fixtures every suite shares: the infrastructure (PostgreSQL + NATS) and in-process services.

Infrastructure resolves as the README says: DATABASE_URL/NATS_URL from the environment, else
testcontainers when Docker answers, else embedded servers under a temporary directory
(``unimatch_stack.testinfra``). Each session gets a fresh database and event prefix.
"""

from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from unimatch_stack.testinfra import SessionInfra, new_event_prefix, session_infra


@pytest.fixture(scope="session")
def infra():
    with session_infra() as resolved:
        yield resolved


@pytest.fixture
def fresh_prefix(infra):
    """The session's infrastructure with events isolated from every other test's."""
    return SessionInfra(infra.database_url, infra.nats_url, new_event_prefix(), infra.sources)


@asynccontextmanager
async def running_app(app):
    """Run a service's FastAPI app in this process (lifespan included) behind an httpx client."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client
