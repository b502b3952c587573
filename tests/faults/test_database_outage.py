"""Profile's PostgreSQL stopped for 10 seconds (profile has a server of its own here; the other
services share another).

While it is down profile answers 503 — not 500, and not a hang: every request has a 10 s client
timeout — and its /readyz says 503; sign-up (which needs profile) answers 503; login, the
countdown and a staff round keep working. Once the server is back, profile recovers by itself
(no restart), and the round's ``pair.created`` events, which profile could not apply meanwhile,
reach its history exactly once.
"""

import time

import httpx
import pytest

from tests.e2e.helpers import auth
from tests.faults.conftest import CLIENT_TIMEOUT, fault_system, tally
from tests.support.helpers import eventually

OUTAGE_SECONDS = 10.0
PEOPLE = 6
# Events profile failed to apply are retried after 0.5 s, 1 s, 2 s ... (ADR 007).
CONVERGE_SECONDS = 90


@pytest.fixture(scope="module")
def system(var_dir):
    with fault_system(var_dir, own_database=["profile"]) as running:
        yield running


def test_profile_database_down_for_ten_seconds(system, report):
    api = system.client()
    people = []
    for i in range(PEOPLE):
        response = system.register(api, first_name=f"Участник{i}", hobby=[3])
        assert response.status_code == 201, response.text
        people.append(response.json())
    ids = [p["user"]["id"] for p in people]
    eventually(
        lambda: (
            len(system.sql("matching", "SELECT 1 FROM participant WHERE user_id = ANY(%s)", ids))
            == PEOPLE
        ),
        "matching knows everyone",
        timeout=60,
    )
    staff = system.staff(api)
    me = auth(people[0]["token"])
    readyz = f"{system.stack.service_url('profile')}/readyz"
    assert api.get("/users/api/me/", headers=me).status_code == 200

    profile_db = system.postgres["profile"]
    port = profile_db.port
    answers: dict[str, list[int]] = {}

    def probe(name: str, method: str, url: str, **kwargs) -> None:
        try:
            status = api.request(method, url, **kwargs).status_code
        except httpx.TimeoutException:
            status = 0  # hung past the client timeout
        answers.setdefault(name, []).append(status)

    profile_db.stop()
    try:
        round_ = api.post("/matching/api/rounds/", headers=staff)
        assert round_.status_code == 201, round_.text
        round_id = round_.json()["round_id"]
        down_until = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < down_until:
            probe("profile GET /me", "GET", "/users/api/me/", headers=me)
            probe("profile GET /hobby/all", "GET", "/users/api/hobby/all/")
            probe("profile /readyz", "GET", readyz, timeout=CLIENT_TIMEOUT)
            probe(
                "sign-up",
                "POST",
                "/users/api/register/",
                json={"email": f"down-{time.monotonic_ns()}@example.com", "password": "pa55word"},
            )
            probe(
                "auth login",
                "POST",
                "/auth/token/login/",
                json={"email": people[1]["user"]["email"], "password": "pa55word"},
            )
            probe("matching days-to-match", "GET", "/users/api/days-to-match/")
            time.sleep(0.5)
        assert system.stack.processes["profile"].running, "profile died with its database"
    finally:
        profile_db.start()
    assert profile_db.port == port

    expected = {
        "profile GET /me": {503},
        # Served from memory (loaded at start-up): the catalog outlives the database.
        "profile GET /hobby/all": {200},
        "profile /readyz": {503},
        "sign-up": {503},
        "auth login": {201},
        "matching days-to-match": {200},
    }
    assert {name: set(statuses) for name, statuses in answers.items()} == expected, answers

    # Back by itself: no restart of the service.
    eventually(
        lambda: api.get("/users/api/me/", headers=me).status_code == 200,
        "profile answers again once its database is back",
        timeout=60,
    )
    assert httpx.get(readyz, timeout=CLIENT_TIMEOUT).status_code == 200
    later = system.register(api, hobby=[3])
    assert later.status_code == 201, later.text

    groups: dict[int, list[int]] = {}
    for group_id, user_id in system.sql(
        "matching", "SELECT group_id, user_id FROM group_member WHERE round_id = %s", round_id
    ):
        groups.setdefault(group_id, []).append(user_id)
    expected_rows = {(u, p) for people in groups.values() for u in people for p in people if u != p}

    def history() -> dict[tuple[int, int], int]:
        return system.round_history(round_id)

    try:
        eventually(
            lambda: set(history()) >= expected_rows,
            "the round's groups reach profile's history after the outage",
            timeout=CONVERGE_SECONDS,
        )
    finally:
        rows = history()
        report(
            f"postgres-outage/pair.created -> profile history rows, one per key by the "
            f"table's constraint ({len(groups)} groups, "
            f"{sum(map(len, answers.values()))} requests while down)",
            **tally(expected_rows, rows),
        )
    assert set(rows) == expected_rows
    assert all(n == 1 for n in rows.values())
    assert system.dead_letters("pair.created") == [], "an outage is not a reason to give up"
    for person in people:
        partners = api.get("/users/api/pairs/", headers=auth(person["token"])).json()
        assert len(partners) in (1, 2)
