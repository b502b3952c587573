"""The whole system as a user meets it: four services and the gateway, as real processes."""

import asyncio
import socket
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, auth
from tests.support.telegram_stub import TOKEN, USERNAME, TelegramStub
from unimatch_stack.supervisor import SERVICES, Stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedTelegram:
    """The stand-in Bot API server on its own event loop thread, for the process-level stack."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stub = TelegramStub()
        self._call(self.stub.__aenter__())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def push_message(self, chat_id: int, text: str, username: str | None = None) -> None:
        self.loop.call_soon_threadsafe(self.stub.push_message, chat_id, text, "Тест", username)

    def messages_to(self, chat_id: int) -> list[str]:
        return self.stub.messages_to(chat_id)

    def close(self) -> None:
        self._call(self.stub.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def telegram():
    server = ThreadedTelegram()
    yield server
    server.close()


@pytest.fixture(scope="session")
def stack(infra, telegram):
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
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.stub.url,
            "TELEGRAM_BOT_USERNAME": USERNAME,
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


@pytest.fixture
def staff(api):
    """Headers carrying the bootstrap admin's token."""
    login = api.post("/auth/token/login/", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    return auth(login.json()["token"])
