"""Durable consumers are created with the service's settings (``UNIMATCH_ACK_WAIT_SECONDS``)."""

from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from tests.conftest import running_app
from unimatch_shared.events import ProfileChanged


async def test_a_durable_consumer_takes_its_ack_wait_from_the_settings(service_settings, js):
    settings = MatchingSettings(**{**service_settings, "unimatch_ack_wait_seconds": 7})
    app = create_app(settings)
    async with running_app(app):
        messaging = app.state.runtime.messaging
        info = await js.consumer_info(
            messaging.stream.name, messaging.durable("matching", ProfileChanged)
        )
    assert info.config.ack_wait == 7
