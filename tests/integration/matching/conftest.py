"""Fixtures for the matching service's integration tests: each test gets its own database
(so rounds and history start empty) and its own event prefix."""

import nats
import pytest

from matching_service.settings import MatchingSettings
from tests.integration.matching.helpers import create_database, drop_database


@pytest.fixture
def matching_settings(fresh_prefix):
    server = fresh_prefix.database_url.rsplit("/", 1)[0] + "/postgres"
    url = create_database(server)
    yield MatchingSettings(
        database_url=url,
        nats_url=fresh_prefix.nats_url,
        unimatch_event_prefix=fresh_prefix.event_prefix,
    )
    drop_database(server, url)


@pytest.fixture
async def js(fresh_prefix):
    client = await nats.connect(fresh_prefix.nats_url)
    yield client.jetstream()
    await client.close()
