"""``make replay-dead-letters`` (shared/dead_letters.py) against a running profile service:
parked events go back to their subjects and are applied once, a consumer that applied one
already skips it (inbox), duplicates in the dead-letter stream are put back once, a dry run
changes nothing, and a second run finds nothing left to do."""

import pytest

from profile_service import service
from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.support.helpers import eventually, publish, query
from unimatch_shared.dead_letters import replay_dead_letters, run
from unimatch_shared.events import TelegramLinked, UserRegistered
from unimatch_shared.rpc import CreateProfile


@pytest.fixture
def settings(service_settings) -> ProfileSettings:
    return ProfileSettings(**service_settings)


async def parked(js, messaging) -> int:
    return (await js.stream_info(messaging.dead_letter_stream)).state.messages


async def settled(js, messaging, durables: list[str]) -> bool:
    """These consumers have been handed and have acknowledged everything on their subjects."""
    for durable in durables:
        info = await js.consumer_info(messaging.stream.name, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def test_replay_puts_parked_events_back_once(settings, js, monkeypatch, capsys):
    prefix = settings.unimatch_event_prefix
    app = create_app(settings)
    async with running_app(app):
        runtime = app.state.runtime
        messaging = runtime.messaging
        await service.create_profile(
            runtime.unit_of_work(), CreateProfile(user_id=1, email="u1@example.com", hobby=[1])
        )
        linked = TelegramLinked(user_id=1, chat_id="555")
        await publish(js, prefix, linked)
        await eventually(lambda: _processed(settings, linked.event_id))
        # What an outage parked under the old policy: a sign-up's event (twice: two copies of
        # one event) and an event this consumer had applied (another consumer parked it).
        registered = UserRegistered(user_id=1, email="u1@example.com", hobby=[1])
        letters = [
            (registered, "profile-user-registered"),
            (registered, "profile-user-registered"),
            (linked, "someone-else-telegram-linked"),
        ]
        for event, consumer in letters:
            await messaging.dead_letter(
                messaging.subject(event.SUBJECT),
                event.model_dump_json().encode(),
                "OperationalError",
                consumer,
            )

        monkeypatch.setenv("NATS_URL", settings.nats_url)
        monkeypatch.setenv("UNIMATCH_EVENT_PREFIX", prefix)
        assert await run(["--dry-run"]) == 0
        assert "would replay 2 events (1 duplicate dead letters would be dropped)" in (
            capsys.readouterr().out
        )
        assert await parked(js, messaging) == 3

        result = await replay_dead_letters(js, messaging)
        assert (len(result.replayed), result.duplicates, result.skipped) == (2, 1, [])
        assert await parked(js, messaging) == 0
        await eventually(lambda: _processed(settings, registered.event_id))
        await eventually(
            lambda: settled(
                js,
                messaging,
                [
                    messaging.durable("profile", UserRegistered),
                    messaging.durable("profile", TelegramLinked),
                ],
            ),
            "profile received every replayed event",
        )
        again = await replay_dead_letters(js, messaging)

    assert (again.replayed, again.duplicates) == ([], 0)
    rows = await query(
        settings.database_url,
        "profile",
        "SELECT confirmed, chat_id FROM profile WHERE user_id = 1",
    )
    assert rows == [(True, "555")]
    # Applied once: one announcement to matching for the replayed sign-up.
    announced = await query(
        settings.database_url,
        "profile",
        "SELECT count(*) FROM outbox_message WHERE subject = 'profile.changed'",
    )
    assert announced == [(1,)]


async def _processed(settings, event_id) -> bool:
    rows = await query(
        settings.database_url,
        "profile",
        "SELECT 1 FROM processed_event WHERE event_id = %s",
        event_id,
    )
    return bool(rows)


async def test_an_empty_dead_letter_is_put_back_like_any_other(settings, js):
    """A payload JetStream stores as empty (nats-py reads it as None) does not stop a replay;
    the consumer then parks it again as unparsable."""
    app = create_app(settings)
    async with running_app(app):
        messaging = app.state.runtime.messaging
        subject = messaging.subject(UserRegistered.SUBJECT)
        await messaging.dead_letter(subject, b"", "ValidationError", "profile-user-registered")

        result = await replay_dead_letters(js, messaging)
        assert len(result.replayed) == 1
        assert "sha256:" in result.replayed[0]  # no event id to name it by
        await eventually(lambda: parked(js, messaging), "the empty event is parked again")
