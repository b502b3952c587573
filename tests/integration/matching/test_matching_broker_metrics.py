"""FastStream's consumer counters on a running service's ``/metrics`` (metrics.broker_metrics,
registered on every service's broker by the runtime)."""

from matching_service.main import create_app
from tests.conftest import running_app
from tests.integration.matching.helpers import profile, wait_for_participants
from tests.support.helpers import eventually, publish, scrape


def consumed(series, subject: str) -> float:
    """Messages of ``subject`` matching's broker handled and acknowledged."""
    return sum(
        value
        for (name, labels), value in series.items()
        if name == "faststream_received_processed_messages_total"
        and ("status", "acked") in labels
        and ("app_name", "unimatch-matching") in labels
        and dict(labels)["handler"].endswith(subject)
    )


async def test_a_consumed_event_is_counted_on_metrics(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    async with running_app(create_app(matching_settings)) as client:
        before = consumed(await scrape(client), "profile.changed")
        await publish(js, prefix, profile(1, 2))
        await wait_for_participants(db, 1)

        async def counted():
            """matching's broker counted the event"""
            return consumed(await scrape(client), "profile.changed") == before + 1

        await eventually(counted)
