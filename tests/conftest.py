"""Fixtures every suite shares: the infrastructure (PostgreSQL + NATS), in-process services, and
the whole system as real processes behind the gateway (``stack``, for e2e, fuzz and security).

Infrastructure resolves as the README says: DATABASE_URL/NATS_URL from the environment, else
testcontainers when Docker answers, else embedded servers under a temporary directory
(``unimatch_stack.testinfra``). Each session gets a fresh database and event prefix.
"""

import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, auth
from tests.support.helpers import ACK_WAIT_SECONDS
from tests.support.system import system_stack
from tests.support.telegram_stub import ThreadedTelegram
from unimatch_stack.infra import fresh_database
from unimatch_stack.mailbox import running_mailbox
from unimatch_stack.testinfra import (
    SessionInfra,
    forget_event_prefix,
    new_event_prefix,
    session_infra,
)

TESTS = Path(__file__).parent


# Markers (registered in pyproject.toml), applied here so no module can forget them.
# The suites that start the whole system as processes (tens of seconds before the first test).
SUITE_MARKERS = {
    "e2e": [pytest.mark.slow],
    "security": [pytest.mark.slow],
    "fuzz": [pytest.mark.slow, pytest.mark.fuzz],
    # A scenario waits out kills, restarts and convergence.
    "faults": [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(600)],
    # Builds images and brings docker-compose.yml up on a Docker engine (the first build takes
    # minutes); not in `make test` (pytest_ignore_collect below).
    "compose": [pytest.mark.slow, pytest.mark.timeout(1800)],
}


def pytest_addoption(parser):
    parser.addoption(
        "--compose",
        action="store_true",
        help="run tests/compose: docker-compose.yml on a real Docker engine (make test-compose)",
    )


def pytest_ignore_collect(collection_path, config):
    """tests/compose needs a Docker engine and its images (`make test-compose` prepares both),
    so a run leaves it out unless given --compose (or the folder by name)."""
    if collection_path == TESTS / "compose" and not config.getoption("compose"):
        return True
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        for marker in SUITE_MARKERS.get(item.path.relative_to(TESTS).parts[0], ()):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def infra():
    with session_infra() as resolved:
        yield resolved


@pytest.fixture
def fresh_prefix(infra):
    """The session's infrastructure with events isolated from every other test's (its streams
    deleted afterwards)."""
    prefix = new_event_prefix()
    yield SessionInfra(infra.database_url, infra.nats_url, prefix, infra.sources)
    forget_event_prefix(infra.nats_url, prefix)


@pytest.fixture
def service_settings(fresh_prefix):
    """Settings for one service in-process: a database of its own (empty, dropped afterwards)
    and isolated events. ``MatchingSettings(**service_settings)``."""
    with fresh_database(fresh_prefix.database_url, "service_test") as url:
        yield {
            "database_url": url,
            "nats_url": fresh_prefix.nats_url,
            "unimatch_event_prefix": fresh_prefix.event_prefix,
            "unimatch_ack_wait_seconds": ACK_WAIT_SECONDS,
        }


@pytest.fixture
async def js(fresh_prefix):
    """JetStream on the test's NATS, to publish and read events as the services do."""
    client = await nats.connect(fresh_prefix.nats_url)
    yield client.jetstream()
    await client.close()


@asynccontextmanager
async def running_app(app):
    """Run a service's FastAPI app in this process (lifespan included) behind an httpx client."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


@pytest.fixture(scope="session")
def telegram():
    server = ThreadedTelegram()
    yield server
    server.close()


@pytest.fixture(scope="session")
def mailbox():
    """A mail server for the whole system: `make run`'s own, keeping `.eml` files."""
    folder = Path(tempfile.mkdtemp(prefix="unimatch-mail-"))
    with running_mailbox(folder, announce=lambda line: None) as (box, url):
        yield box, url


@pytest.fixture(scope="session")
def stack(infra, telegram, mailbox):
    var_dir = Path(tempfile.mkdtemp(prefix="unimatch-e2e-"))
    # The bot asks "did you meet?" right after a round, so an end-to-end test can answer it.
    follow_up_now = {"FOLLOW_UP_DELAY_SECONDS": "0", "FOLLOW_UP_POLL_SECONDS": "0.5"}
    system = system_stack(
        var_dir,
        infra.database_url,
        infra.nats_url,
        infra.event_prefix,
        telegram.stub.url,
        env={"SMTP_URL": mailbox[1], **follow_up_now},
        service_env=infra.service_env,
    )
    with system:
        yield system


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.gateway_url, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture
def staff(api):
    """Headers carrying the bootstrap admin's token."""
    login = api.post("/auth/token/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    return auth(login.json()["token"])
