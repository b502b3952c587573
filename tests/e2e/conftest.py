"""The whole system as a user meets it: four services and the gateway, as real processes."""

import socket
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from unimatch_stack.supervisor import SERVICES, Stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack(infra):
    var_dir = Path(tempfile.mkdtemp(prefix="unimatch-e2e-"))
    system = Stack(
        var_dir,
        infra.database_url,
        infra.nats_url,
        gateway_port=free_port(),
        service_ports={spec.name: free_port() for spec in SERVICES},
        extra_env={
            "UNIMATCH_EVENT_PREFIX": infra.event_prefix,
            "UNIMATCH_ADMIN_EMAIL": ADMIN_EMAIL,
            "UNIMATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TELEGRAM_BOT_TOKEN": "",
            "LOG_LEVEL": "INFO",
        },
        ready_timeout=120,
    )
    with system:
        yield system


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.gateway_url, timeout=30, follow_redirects=False) as client:
        yield client
