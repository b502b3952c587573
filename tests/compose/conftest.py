"""docker-compose.yml brought up for real (`make test-compose`; not part of `make test`).

The images come from `python -m unimatch_stack.compose`, which `make test-compose` runs first
(pulled, or stand-ins built here when no registry answers). The stack runs as its own compose
project with a free gateway port, so an operator's `unimatch` project is never touched, and is
taken down with its volumes at the end, pass or fail.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, auth
from unimatch_stack.compose import Project, compose_command
from unimatch_stack.infra import free_ports

PROJECT = "unimatch-compose-test"
# Instances of every service (compose's `deploy.replicas`, from UNIMATCH_INSTANCES): more than
# one, so the gateway's discovery of replicas and a replica stopped under it are exercised.
REPLICAS = 2
SERVICES = ["auth", "profile", "matching", "notifier"]


class Timings:
    """How long each phase took, reported at the end of the run (docs, README)."""

    def __init__(self):
        self.phases: list[tuple[str, float]] = []

    def record(self, phase: str, started: float) -> None:
        self.phases.append((phase, time.monotonic() - started))


TIMINGS = Timings()


def pytest_terminal_summary(terminalreporter):
    for phase, seconds in TIMINGS.phases:
        terminalreporter.write_line(f"compose timing: {phase}: {seconds:.1f} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the stack's recent logs: the containers are gone once
    the module's stack is down."""
    report = yield
    project = item.funcargs.get("compose")
    if report.when == "call" and report.failed and isinstance(project, Project):
        report.sections.append(("compose logs", project.compose("logs", "--tail", "30")))
    return report


@pytest.fixture(scope="session")
def timings():
    return TIMINGS


@contextmanager
def running_stack(timings, name: str, *options: str) -> Iterator[tuple[Project, str]]:
    """docker-compose.yml up as project ``name`` (with compose ``options``) until every
    service is healthy; the project and its gateway's URL; down with its volumes after."""
    port = free_ports(1)[0]
    env = {
        **os.environ,
        "UNIMATCH_PORT": str(port),
        "UNIMATCH_INSTANCES": str(REPLICAS),
        "UNIMATCH_ADMIN_EMAIL": ADMIN_EMAIL,
        "UNIMATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    project = Project(compose_command(), name, env, options)
    project.down()  # what an interrupted run may have left
    started = time.monotonic()
    try:
        project.up()
        timings.record(f"{name}: build, start and wait until every service is healthy", started)
        yield project, f"http://127.0.0.1:{port}"
    finally:
        started = time.monotonic()
        project.down()
        timings.record(f"{name}: down, volumes removed", started)


# One stack per module (a module may override this fixture with another stack), so that no
# two run at once on a small machine.
@pytest.fixture(scope="module")
def compose_stack(timings):
    with running_stack(timings, PROJECT) as stack:
        yield stack


@pytest.fixture
def compose(compose_stack):
    return compose_stack[0]


@pytest.fixture
def api(compose_stack):
    with httpx.Client(base_url=compose_stack[1], timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture
def staff(api):
    login = api.post("/auth/token/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 201, login.text
    return auth(login.json()["token"])
