"""Fixtures for the notifier's integration tests: a database of its own per test (so chat links
and queued messages never leak between tests), an event prefix of its own, the stand-in
Bot API server, and a real SMTP server for the mail tests."""

import nats
import pytest

from notifier_service.settings import NotifierSettings
from tests.support.helpers import ACK_WAIT_SECONDS
from tests.support.mail_catcher import MailCatcher
from tests.support.telegram_stub import TOKEN, TelegramStub
from unimatch_stack.infra import fresh_database
from unimatch_stack.testinfra import SessionInfra


@pytest.fixture
def env(fresh_prefix):
    with fresh_database(fresh_prefix.database_url, "notifier_test") as url:
        yield SessionInfra(
            url, fresh_prefix.nats_url, fresh_prefix.event_prefix, fresh_prefix.sources
        )


@pytest.fixture
async def telegram():
    async with TelegramStub() as stub:
        yield stub


@pytest.fixture
async def catcher():
    async with MailCatcher() as server:
        yield server


@pytest.fixture
def notifier_settings(env, telegram) -> NotifierSettings:
    return NotifierSettings(
        database_url=env.database_url,
        nats_url=env.nats_url,
        unimatch_event_prefix=env.event_prefix,
        unimatch_ack_wait_seconds=ACK_WAIT_SECONDS,
        telegram_bot_token=TOKEN,
        telegram_api_url=telegram.url,
        telegram_polling_timeout=1,
    )


@pytest.fixture
async def nc(env):
    client = await nats.connect(env.nats_url)
    yield client
    await client.close()


@pytest.fixture
def mail_settings(notifier_settings, catcher) -> NotifierSettings:
    """The notifier sending mail to ``catcher``, fast (the pacing has tests of its own)."""
    return NotifierSettings(
        **notifier_settings.model_dump(
            exclude={"smtp_url", "mail_messages_per_second", "unimatch_public_url"}
        ),
        smtp_url=catcher.url,
        mail_messages_per_second=200,
        unimatch_public_url="https://unimatch.example.org/",
    )
