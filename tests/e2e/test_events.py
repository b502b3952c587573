"""Cross-service flows: match history from pair.created, registration with profile down."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import nats

from tests.e2e.helpers import auth, new_email, register
from unimatch_shared.events import GroupMember, PairCreated


def publish(infra, event: PairCreated, msg_id: str) -> None:
    async def send() -> None:
        client = await nats.connect(infra.nats_url)
        try:
            await client.jetstream().publish(
                infra.event_prefix + PairCreated.SUBJECT,
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": msg_id},
            )
        finally:
            await client.close()

    asyncio.run(send())


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def member(data: dict) -> GroupMember:
    user = data["user"]
    return GroupMember(
        id=user["id"],
        first_name=user["first_name"],
        last_name=user["last_name"],
        email=user["email"],
    )


def test_pair_created_shows_in_both_histories_once(api, infra):
    a = register(api, first_name="Александр", last_name="Кожевников")
    b = register(api, first_name="Дмитрий")
    event = PairCreated(
        round_id=1,
        group_id=int(time.time() * 1000),
        created_at=datetime.now(UTC),
        members=[member(a), member(b)],
        shared_hobbies=["Спорт"],
    )
    # Delivered twice, as a redelivery would: distinct message ids defeat JetStream's own
    # deduplication, so only the consumer's idempotency keeps it to one row.
    publish(infra, event, str(uuid.uuid4()))
    publish(infra, event, str(uuid.uuid4()))

    def history(data):
        return api.get("/users/api/pairs/", headers=auth(data["token"])).json()

    assert wait_for(lambda: history(a) and history(b))
    time.sleep(1)  # give a wrongly duplicated row the chance to appear
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
    publish(infra, old, str(old.event_id))
    publish(infra, trio, str(trio.event_id))

    def history(index):
        return api.get("/users/api/pairs/", headers=auth(people[index]["token"])).json()

    assert wait_for(lambda: len(history(0)) == 3 and len(history(2)) == 2)
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
