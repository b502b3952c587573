"""Cross-service flows: match history from pair.created, what profile's inbox keeps from
happening twice, registration with profile down.

A redelivery is simulated by publishing an event again under a new ``Nats-Msg-Id`` (JetStream
would drop the same id). Each duplicate check waits until profile's durable consumer has
handled (acked) every message on the subject, so a "nothing happened twice" is never an
assertion made before the duplicate arrived.
"""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import nats
import psycopg
from nats.js.errors import NotFoundError

from tests.e2e.helpers import auth, new_email, register, wait_until_matching_knows
from tests.support.helpers import eventually
from unimatch_shared.events import (
    Event,
    GroupMember,
    PairCreated,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.messaging import Messaging
from unimatch_shared.settings import ServiceSettings


def jetstream(infra, use):
    """``await use(js)`` on a JetStream context of the test's NATS; its result."""

    async def run():
        client = await nats.connect(infra.nats_url)
        try:
            return await use(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(run())


def names(infra) -> Messaging:
    """The stream and consumer names the services derive from the event prefix."""
    return Messaging(
        ServiceSettings(nats_url=infra.nats_url, unimatch_event_prefix=infra.event_prefix), "e2e"
    )


def publish(infra, event: Event, msg_id: str | None = None) -> None:
    """As a relay publishes it; a new ``msg_id`` makes it a redelivery JetStream lets through."""
    jetstream(
        infra,
        lambda js: js.publish(
            infra.event_prefix + event.SUBJECT,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or str(event.event_id)},
        ),
    )


def profile_caught_up(infra, event: type[Event]) -> bool:
    """Profile's consumer of ``event`` has handled and acked everything on its subject."""
    messaging = names(infra)
    info = jetstream(
        infra,
        lambda js: js.consumer_info(messaging.stream.name, messaging.durable("profile", event)),
    )
    return info.num_pending == 0 and info.num_ack_pending == 0


def on_stream(infra, event: type[Event]) -> list:
    """Every event of this type in the stream, oldest first."""
    messaging = names(infra)

    async def read(js) -> list:
        found, seq = [], 1
        while True:
            try:
                message = await js.get_msg(
                    messaging.stream.name, seq, subject=messaging.subject(event.SUBJECT), next=True
                )
            except NotFoundError:
                return found
            found.append(event.model_validate_json(message.data))
            seq = message.seq + 1

    return jetstream(infra, read)


def profile_changed_emitted(infra, user_id: int) -> int:
    """How many ``profile.changed`` events profile has emitted about this user (its outbox)."""
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM profile.outbox_message "
            "WHERE subject = 'profile.changed' AND (payload::jsonb ->> 'user_id')::bigint = %s",
            (user_id,),
        ).fetchone()[0]


def member(data: dict) -> GroupMember:
    user = data["user"]
    return GroupMember(
        id=user["id"],
        first_name=user["first_name"],
        last_name=user["last_name"],
        email=user["email"],
    )


def test_pair_created_shows_in_both_histories_once(api, infra):
    """One row per partner, even for a redelivered event: the history's key (group, user,
    partner) guarantees that by itself, inbox or not; the inbox tests follow."""
    a = register(api, first_name="Александр", last_name="Кожевников")
    b = register(api, first_name="Дмитрий")
    event = PairCreated(
        round_id=1,
        group_id=int(time.time() * 1000),
        created_at=datetime.now(UTC),
        members=[member(a), member(b)],
        shared_hobbies=["Спорт"],
    )
    publish(infra, event, str(uuid.uuid4()))
    publish(infra, event, str(uuid.uuid4()))

    def history(data):
        return api.get("/users/api/pairs/", headers=auth(data["token"])).json()

    eventually(lambda: history(a) and history(b), "the pair reaches both histories")
    eventually(lambda: profile_caught_up(infra, PairCreated), "profile handles the redelivery")
    rows_a, rows_b = history(a), history(b)
    assert len(rows_a) == 1 and len(rows_b) == 1
    assert rows_a[0]["partner"]["id"] == b["user"]["id"]
    assert rows_a[0]["partner"]["first_name"] == "Дмитрий"
    assert rows_b[0]["partner"] == {
        "id": a["user"]["id"],
        "first_name": "Александр",
        "last_name": "Кожевников",
        "email": a["user"]["email"],
        "telegram_username": None,
    }
    assert rows_a[0]["created_at"] == event.created_at.date().isoformat()
    assert rows_a[0]["common_hobbies"] == ["Спорт"]
    assert isinstance(rows_a[0]["id"], int)


def test_a_redelivered_sign_up_tells_matching_once(api, infra):
    """Applying ``user.registered`` emits ``profile.changed``, a new event each time: only the
    inbox stops a redelivery from announcing the participant again."""
    user = register(api, first_name="Повтор")
    user_id = user["user"]["id"]
    wait_until_matching_knows(infra, [user_id])
    [registered] = [e for e in on_stream(infra, UserRegistered) if e.user_id == user_id]
    assert profile_changed_emitted(infra, user_id) == 1

    publish(infra, registered, str(uuid.uuid4()))
    eventually(lambda: profile_caught_up(infra, UserRegistered), "profile handles the redelivery")
    assert profile_changed_emitted(infra, user_id) == 1


def test_a_redelivered_link_does_not_undo_a_later_unlink(api, infra):
    """Linking then unlinking a chat, then the link's event again (a redelivery): without the
    inbox the stale event would link the chat once more."""
    user = register(api)

    def chat_id():
        return api.get("/users/api/me/", headers=auth(user["token"])).json()["chat_id"]

    linked = TelegramLinked(user_id=user["user"]["id"], chat_id="5550001", username="redelivered")
    publish(infra, linked)
    eventually(lambda: chat_id() == "5550001", "profile shows the linked chat")
    publish(infra, TelegramUnlinked(user_id=user["user"]["id"], chat_id="5550001"))
    eventually(lambda: chat_id() is None, "profile forgets the unlinked chat")

    publish(infra, linked, str(uuid.uuid4()))
    eventually(lambda: profile_caught_up(infra, TelegramLinked), "profile handles the redelivery")
    assert chat_id() is None


def test_trio_gives_one_row_per_partner_newest_first(api, infra):
    people = [register(api) for _ in range(3)]
    old = PairCreated(
        round_id=1,
        group_id=int(time.time() * 1000) + 1,
        created_at=datetime(2025, 4, 21, 5, tzinfo=UTC),
        members=[member(people[0]), member(people[1])],
    )
    trio = PairCreated(
        round_id=2,
        group_id=int(time.time() * 1000) + 2,
        created_at=datetime(2025, 4, 28, 5, tzinfo=UTC),
        members=[member(p) for p in people],
    )
    publish(infra, old)
    publish(infra, trio)

    def history(index):
        return api.get("/users/api/pairs/", headers=auth(people[index]["token"])).json()

    eventually(lambda: len(history(0)) == 3 and len(history(2)) == 2, "the trio's histories")
    rows = history(0)
    assert [r["created_at"] for r in rows] == ["2025-04-28", "2025-04-28", "2025-04-21"]
    assert {r["partner"]["id"] for r in rows[:2]} == {
        people[1]["user"]["id"],
        people[2]["user"]["id"],
    }


def test_registration_while_profile_is_down(api, stack):
    email = new_email()
    body = {"email": email, "password": "abc123", "first_name": "Ольга", "hobby": [1]}
    stack.stop_service("profile")
    try:
        response = api.post("/users/api/register/", json=body)
        assert response.status_code == 503
        assert "detail" in response.json()
        login = api.post("/auth/token/login/", json={"email": email, "password": "abc123"})
        assert login.status_code == 400
    finally:
        stack.start_service("profile")
    retry = api.post("/users/api/register/", json=body)
    assert retry.status_code == 201, retry.text
    token = retry.json()["token"]
    assert api.get("/users/api/tags/", headers=auth(token)).json() == ["Программирование"]
    assert json.loads(api.get("/users/api/me/", headers=auth(token)).text)["first_name"] == "Ольга"


def test_authenticated_endpoints_keep_serving_while_auth_is_down(api, stack):
    """Tokens are checked against the shared session store (ADR 010), not by asking auth: a
    restarting auth costs logins and sign-ups, not every other authenticated request."""
    token = register(api)["token"]
    stack.stop_service("auth")
    try:
        for path in ("/users/api/tags/", "/users/api/me/", "/users/api/pairs/"):
            response = api.get(path, headers=auth(token))
            assert response.status_code == 200, path
        assert api.get("/users/api/me/", headers=auth("0" * 40)).status_code == 401
        login = api.post("/auth/token/login/", json={"email": new_email(), "password": "x-1234"})
        assert login.status_code in (502, 503)
        assert "detail" in login.json()
        assert api.get("/users/api/hobby/all").status_code == 200
    finally:
        stack.start_service("auth")
    assert api.get("/users/api/tags/", headers=auth(token)).status_code == 200
