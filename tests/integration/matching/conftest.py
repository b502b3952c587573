"""Fixtures for the matching service's integration tests: each test gets its own database
(so rounds and history start empty) and its own event prefix."""

import nats
import pytest

from matching_service.settings import MatchingSettings
from tests.support.helpers import fresh_database


@pytest.fixture
def matching_settings(fresh_prefix):
    with fresh_database(fresh_prefix.database_url, "matching_test") as url:
        yield MatchingSettings(
            database_url=url,
            nats_url=fresh_prefix.nats_url,
            unimatch_event_prefix=fresh_prefix.event_prefix,
        )


@pytest.fixture
async def js(fresh_prefix):
    client = await nats.connect(fresh_prefix.nats_url)
    yield client.jetstream()
    await client.close()
