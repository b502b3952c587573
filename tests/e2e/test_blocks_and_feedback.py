"""Meeting feedback, blocks and account deletion through the gateway, every service
running: answers land in the round's stats; a blocked best match is never formed; a
deleted account is out of every service."""

import asyncio
import json

import nats
import psycopg

from tests.e2e.helpers import auth, register, wait_until_matching_knows
from tests.support.helpers import eventually
from unimatch_shared.rpc import DeleteAccount, DeleteAccountReply

# Hobbies no other end-to-end test gives anyone: the two users holding all three are each
# other's best match by far.
OWN_HOBBIES = [38, 39, 40]


def latest_row(api, token) -> dict:
    return eventually(
        lambda: (rows := api.get("/users/api/pairs/", headers=auth(token)).json()) and rows[0],
        "the round reached the history",
        interval=0.2,
    )


def hold_round(api, staff) -> int:
    response = api.post("/matching/api/rounds/", headers=staff)
    assert response.status_code == 201, response.text
    return response.json()["round_id"]


def in_matching(infra, sql: str, *params):
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def forget_meeting(infra, round_id: int, *user_ids: int) -> None:
    """Erase these users' groups of a round from matching's history, so that nothing but a
    block can keep them apart (a past meeting is only avoided)."""
    in_matching(
        infra,
        "DELETE FROM matching.group_member WHERE round_id = %s AND user_id = ANY(%s)",
        round_id,
        list(user_ids),
    )


def group_of(infra, round_id: int, user_id: int) -> set[int]:
    """Everyone in the user's group of that round, as matching stored it."""
    rows = in_matching(
        infra,
        "SELECT user_id FROM matching.group_member WHERE group_id = ("
        " SELECT group_id FROM matching.group_member WHERE round_id = %s AND user_id = %s)",
        round_id,
        user_id,
    )
    return {user for (user,) in rows}


def block_state(infra, user_id: int, blocked_user_id: int) -> list[tuple]:
    return in_matching(
        infra,
        "SELECT blocked FROM matching.block WHERE user_id = %s AND blocked_user_id = %s",
        user_id,
        blocked_user_id,
    )


def wait_for_block(infra, user_id: int, blocked_user_id: int, blocked: bool) -> None:
    """Until matching holds the block as ``blocked`` (false: lifted)."""
    eventually(
        lambda: block_state(infra, user_id, blocked_user_id) == [(blocked,)],
        "matching learned of the block" if blocked else "matching learned the block was lifted",
        interval=0.2,
    )


def test_feedback_reaches_stats_and_a_blocked_best_match_is_never_formed(api, infra, staff):
    anna = register(api, first_name="Анна", hobby=OWN_HOBBIES)
    boris = register(api, first_name="Борис", hobby=OWN_HOBBIES)
    others = [register(api, hobby=[1])["user"]["id"] for _ in range(2)]  # to meet instead
    a_id, b_id = anna["user"]["id"], boris["user"]["id"]
    wait_until_matching_knows(infra, [a_id, b_id, *others])

    first = hold_round(api, staff)
    assert b_id in group_of(infra, first, a_id)
    latest_row(api, anna["token"])  # the round reached Anna's history (all its rows)
    rows = api.get("/users/api/pairs/", headers=auth(anna["token"])).json()
    row = next(r for r in rows if r["partner"]["id"] == b_id)
    assert row["feedback"] is None
    boris_row = latest_row(api, boris["token"])  # any of his rows of that round

    # Feedback: each answers about their own row; a forged row id (the partner's) is a 404.
    forged = api.post(
        f"/users/api/pairs/{boris_row['id']}/feedback/",
        json={"met": "yes"},
        headers=auth(anna["token"]),
    )
    assert forged.status_code == 404
    for token, own, answer in (
        (anna["token"], row, {"met": "yes", "rating": 4, "comment": "Хорошо поговорили"}),
        (boris["token"], boris_row, {"met": "no"}),
    ):
        given = api.post(
            f"/users/api/pairs/{own['id']}/feedback/", json=answer, headers=auth(token)
        )
        assert given.status_code == 201, given.text
    rows = api.get("/users/api/pairs/", headers=auth(anna["token"])).json()
    assert next(r for r in rows if r["id"] == row["id"])["feedback"]["rating"] == 4
    stats = eventually(
        lambda: (
            (s := api.get(f"/matching/api/rounds/{first}/stats/", headers=staff).json())["answered"]
            == 2
            and s
        ),
        "the answers reached matching",
        interval=0.2,
    )
    assert (stats["round_id"], stats["met"], stats["rating_mean"]) == (first, 1, 4.0)

    # Anna blocks Boris; he is not told.
    blocked = api.post("/users/api/blocks/", json={"user_id": b_id}, headers=auth(anna["token"]))
    assert blocked.status_code == 201, blocked.text
    assert [
        b["user_id"] for b in api.get("/users/api/blocks/", headers=auth(anna["token"])).json()
    ] == [b_id]
    assert api.get("/users/api/blocks/", headers=auth(boris["token"])).json() == []
    wait_for_block(infra, a_id, b_id, blocked=True)
    forget_meeting(infra, first, a_id, b_id)
    second = hold_round(api, staff)
    assert b_id not in group_of(infra, second, a_id)
    assert {a_id, b_id} <= {
        u
        for (u,) in in_matching(
            infra, "SELECT user_id FROM matching.group_member WHERE round_id = %s", second
        )
    }  # plenty of others to meet: nobody left out

    # Lifted: with the meetings forgotten, the best match is formed again.
    lifted = api.delete(f"/users/api/blocks/{b_id}/", headers=auth(anna["token"]))
    assert lifted.status_code == 204
    wait_for_block(infra, a_id, b_id, blocked=False)
    forget_meeting(infra, second, a_id, b_id)
    third = hold_round(api, staff)
    assert b_id in group_of(infra, third, a_id)


def test_a_deleted_account_is_gone_everywhere(api, infra, staff):
    anna = register(api, first_name="Анна", hobby=[1])
    vera = register(api, first_name="Вера", hobby=[1])
    ids = [anna["user"]["id"], vera["user"]["id"]]
    wait_until_matching_knows(infra, ids)
    hold_round(api, staff)
    latest_row(api, anna["token"])

    async def ask():
        client = await nats.connect(infra.nats_url)
        try:
            request = DeleteAccount(user_id=ids[1])
            reply = await client.request(
                infra.event_prefix + request.SUBJECT, request.model_dump_json().encode(), timeout=10
            )
            return DeleteAccountReply.model_validate(json.loads(reply.data))
        finally:
            await client.close()

    assert asyncio.run(ask()) == DeleteAccountReply(deleted=True)
    assert api.get("/users/api/me/", headers=auth(vera["token"])).status_code == 401
    login = api.post(
        "/auth/token/login/", json={"email": vera["user"]["email"], "password": "pa55word"}
    )
    assert login.status_code == 400
    eventually(
        lambda: (
            in_matching(
                infra, "SELECT count(*) FROM matching.participant WHERE user_id = %s", ids[1]
            )
            == [(0,)]
        ),
        "matching forgot the account",
        interval=0.2,
    )
    round_id = hold_round(api, staff)
    groups = in_matching(
        infra,
        "SELECT count(*) FROM matching.group_member WHERE round_id = %s AND user_id = %s",
        round_id,
        ids[1],
    )
    assert groups == [(0,)]
