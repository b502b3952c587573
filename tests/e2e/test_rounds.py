"""Rounds through the gateway: a staff round puts every participant's new match in their
history; a paused user gets none; the next round repeats nobody."""

from tests.e2e.helpers import auth, register, wait_until_matching_knows
from tests.support.helpers import eventually


def partners(api, token):
    rows = api.get("/users/api/pairs/", headers=auth(token)).json()
    return [row["partner"]["id"] for row in rows]


def wait_for_history(api, token, count):
    """The user's partners, once there are at least ``count``."""
    return eventually(
        lambda: len(rows := partners(api, token)) >= count and rows,
        f"the history has {count} partners",
        interval=0.2,
    )


def test_rounds_need_a_staff_token(api):
    assert api.post("/matching/api/rounds/").status_code == 401
    user = register(api)
    response = api.post("/matching/api/rounds/", headers=auth(user["token"]))
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_staff_rounds_reach_every_participant_and_never_repeat(api, infra, staff):
    people = [register(api, hobby=[1 + i % 3]) for i in range(6)]
    resting = register(api, hobby=[1])
    pause = api.post("/users/api/pause/", headers=auth(resting["token"]), json={})
    assert pause.status_code == 200
    ids = [p["user"]["id"] for p in people]
    wait_until_matching_knows(infra, [*ids, resting["user"]["id"]], [resting["user"]["id"]])

    first = api.post("/matching/api/rounds/", headers=staff)
    assert first.status_code == 201, first.text
    summary = first.json()
    assert set(summary) >= {"round_id", "created_at", "groups", "users", "with_common_hobby"}
    assert summary["users"] >= len(people)

    first_partners = {}
    for person in people:
        history = wait_for_history(api, person["token"], 1)
        assert len(history) in (1, 2), "one partner, or two in the trio"
        first_partners[person["user"]["id"]] = set(history)
        for partner in history:
            assert partner != resting["user"]["id"]
    assert partners(api, resting["token"]) == []

    second = api.post("/matching/api/rounds/", headers=staff)
    assert second.status_code == 201
    assert second.json()["round_id"] != summary["round_id"]
    for person in people:
        before = first_partners[person["user"]["id"]]
        history = wait_for_history(api, person["token"], len(before) + 1)
        newest = set(history[: len(history) - len(before)])
        assert newest and not newest & before, "the second round repeated a pair"
