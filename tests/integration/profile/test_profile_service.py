"""The profile service's paths the end-to-end suite does not reach: the sweeper of abandoned
sign-ups (ADR 001), which asks auth before it deletes, and the Telegram read model kept from
the notifier's events."""

import gc
import json
from datetime import UTC, datetime, timedelta

import pytest

from auth_service.main import create_app as create_auth_app
from auth_service.settings import AuthSettings
from profile_service import service
from profile_service.adapters.db import views
from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.support.helpers import eventually, publish, query
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import (
    GroupMember,
    PairCreated,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.rpc import CreateProfile
from unimatch_shared.sessions import Session

# What auth, run next to profile here, shares with it: the database and the NATS namespace.
SHARED_SETTINGS = {
    "database_url",
    "nats_url",
    "unimatch_event_prefix",
    "unimatch_ack_wait_seconds",
}


@pytest.fixture
def settings(service_settings) -> ProfileSettings:
    return ProfileSettings(**service_settings)


async def profiles(settings) -> dict[int, tuple]:
    rows = await query(
        settings.database_url, "profile", "SELECT user_id, confirmed, chat_id FROM profile"
    )
    return {user_id: (confirmed, chat_id) for user_id, confirmed, chat_id in rows}


async def test_sweeper_asks_auth_and_removes_only_sign_ups_without_an_account(settings, js):
    auth_app = create_auth_app(AuthSettings(**settings.model_dump(include=SHARED_SETTINGS)))
    app = create_app(settings)
    async with running_app(auth_app), running_app(app):
        runtime = app.state.runtime
        for user_id in (1, 2, 3, 4):
            request = CreateProfile(user_id=user_id, email=f"u{user_id}@example.com", hobby=[1])
            reply = await service.create_profile(runtime.unit_of_work(), request)
            assert reply.user["hobby"] == [1]
        # 1's account committed and its event applied; 2's never did and is old; 3's is recent
        # and may still commit; 4's account exists but its user.registered never applied (it
        # was dead-lettered): 4 holds a working token and must not lose the profile.
        await publish(
            js, settings.unimatch_event_prefix, UserRegistered(user_id=1, email="u1@example.com")
        )
        await eventually(lambda: _confirmed(settings, 1))
        await query(
            settings.database_url,
            "auth",
            "INSERT INTO user_account (id, email, password_hash, created_at) "
            "SELECT id, 'u' || id || '@example.com', 'x', now() FROM unnest(%s::bigint[]) id",
            [1, 3, 4],
        )
        await query(
            settings.database_url,
            "profile",
            "UPDATE profile SET created_at = now() - interval '2 hours' WHERE user_id <> 3",
        )

        swept = await service.purge_unconfirmed(
            runtime.unit_of_work(), runtime.messaging, timedelta(hours=1), batch=2
        )

    assert swept == service.Swept(removed=1, confirmed=1)
    assert await profiles(settings) == {1: (True, None), 3: (False, None), 4: (True, None)}
    hobbies = await query(settings.database_url, "profile", "SELECT user_id FROM profile_hobby")
    assert {user_id for (user_id,) in hobbies} == {1, 3, 4}
    # Confirmed as user.registered would have: matching and the notifier hear of user 4.
    announced = await query(
        settings.database_url,
        "profile",
        "SELECT (payload::jsonb ->> 'user_id')::int FROM outbox_message "
        "WHERE subject = 'profile.changed'",
    )
    assert sorted(user_id for (user_id,) in announced) == [1, 4]


async def test_sweeper_deletes_nothing_when_auth_cannot_be_asked(settings):
    app = create_app(settings)
    async with running_app(app):  # and no auth answering
        runtime = app.state.runtime
        request = CreateProfile(user_id=5, email="u5@example.com", hobby=[1])
        await service.create_profile(runtime.unit_of_work(), request)
        await query(
            settings.database_url,
            "profile",
            "UPDATE profile SET created_at = now() - interval '2 hours'",
        )
        with pytest.raises(ServiceUnavailable):
            await service.purge_unconfirmed(
                runtime.unit_of_work(), runtime.messaging, timedelta(hours=1)
            )
    assert await profiles(settings) == {5: (False, None)}


async def _confirmed(settings, user_id: int) -> bool:
    return (await profiles(settings)).get(user_id, (False,))[0]


async def test_telegram_link_and_unlink_events_keep_chat_id(settings, js):
    prefix = settings.unimatch_event_prefix
    app = create_app(settings)
    async with running_app(app):
        await service.create_profile(
            app.state.runtime.unit_of_work(), CreateProfile(user_id=7, email="u7@example.com")
        )

        async def chat_id():
            return (await profiles(settings))[7][1]

        await publish(js, prefix, TelegramLinked(user_id=7, chat_id="555", username="u7"))
        assert await eventually(chat_id) == "555"
        # An unlink for another chat (an older link) must not clear the current one.
        await publish(js, prefix, TelegramUnlinked(user_id=7, chat_id="444"))
        await eventually(lambda: _applied(settings, 2))
        assert await chat_id() == "555"

        await publish(js, prefix, TelegramUnlinked(user_id=7, chat_id="555"))
        await eventually(lambda: _applied(settings, 3))
        assert await chat_id() is None


async def test_late_telegram_events_do_not_undo_newer_ones(settings, js):
    """Events may arrive out of order: the one that happened last decides what is shown."""
    prefix = settings.unimatch_event_prefix
    first, later = datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC)
    app = create_app(settings)
    async with running_app(app):
        await service.create_profile(
            app.state.runtime.unit_of_work(), CreateProfile(user_id=8, email="u8@example.com")
        )
        await publish(js, prefix, TelegramLinked(user_id=8, chat_id="777", occurred_at=later))
        await eventually(lambda: _applied(settings, 1))
        # The link that 777 replaced, and that link's unlink, both delivered late.
        await publish(js, prefix, TelegramLinked(user_id=8, chat_id="666", occurred_at=first))
        await publish(js, prefix, TelegramUnlinked(user_id=8, chat_id="777", occurred_at=first))
        await eventually(lambda: _applied(settings, 3))
        assert (await profiles(settings))[8][1] == "777"

        await publish(js, prefix, TelegramUnlinked(user_id=8, chat_id="777"))
        await eventually(lambda: _applied(settings, 4))
        assert (await profiles(settings))[8][1] is None


async def _applied(settings, count: int) -> bool:
    """The profile consumer has applied ``count`` events."""
    rows = await query(
        settings.database_url,
        "profile",
        "SELECT count(*) FROM processed_event WHERE consumer = 'profile'",
    )
    return rows[0][0] == count


class SessionWithoutProfile:
    """A live session of an account profile never heard of (e.g. its sign-up still in flight)."""

    async def verify(self, token: str) -> Session:
        return Session(user_id=404, is_staff=False)


async def test_an_account_without_a_profile_gets_a_documented_404(settings):
    app = create_app(settings)
    operations = [
        ("GET", "/users/api/me"),
        ("PATCH", "/users/api/me"),
        ("POST", "/users/api/pause"),
        ("POST", "/users/api/resume"),
    ]
    async with running_app(app) as client:
        app.state.token_verifier = SessionWithoutProfile()
        answers = [
            await client.request(method, path + "/", json={}, headers=auth("a" * 40))
            for method, path in operations
        ]
    assert [(a.status_code, a.json()) for a in answers] == [(404, {"detail": "Not found."})] * 4
    paths = app.openapi()["paths"]
    assert all("404" in paths[path][method.lower()]["responses"] for method, path in operations)


async def test_pair_created_out_of_order_gives_the_same_history(settings):
    """The outbox relay keeps order only in normal operation (docs/adr/014): a later round's
    group applied first, and a redelivery, still give one newest-first history."""
    first, second = (
        PairCreated(
            round_id=round_id,
            group_id=round_id,
            created_at=datetime(2026, 1, round_id, 10, tzinfo=UTC),
            members=[
                GroupMember(id=user_id, first_name=f"U{user_id}", last_name="", email="")
                for user_id in (1, partner)
            ],
        )
        for round_id, partner in ((1, 2), (2, 3))
    )
    app = create_app(settings)
    async with running_app(app):
        runtime = app.state.runtime
        for event in (second, first, second):
            await service.on_pair_created(runtime.unit_of_work(), event)
        history = json.loads(await views.match_history_json(runtime.reads, 1))
    assert [entry["partner"]["id"] for entry in history] == [3, 2]


async def test_start_up_objects_are_frozen_out_of_the_collector(settings):
    """What start-up made lives as long as the process; full collections skip it."""
    gc.unfreeze()
    async with running_app(create_app(settings)):
        assert gc.get_freeze_count() > 0
