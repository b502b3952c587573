"""Blocks, meeting feedback and deleted accounts inside the matching service: events in,
rounds that never group a blocked pair (and say who was left out), the round's stats."""

from datetime import timedelta
from uuid import uuid4

import pytest

from matching_service import service
from tests.conftest import running_app
from tests.integration.matching.helpers import (
    STAFF_TOKEN,
    USER_TOKEN,
    events_in_stream,
    groups_of,
    participants_sharing_one_hobby,
    profile,
    published_pairs,
    started,
    wait_for_participants,
)
from tests.support.helpers import auth, eventually, publish, query, race
from unimatch_shared.events import (
    AccountDeleted,
    MeetingFeedback,
    PartnerBlocked,
    PartnerUnblocked,
    RoundSkipped,
)


async def applied(db: str, count: int) -> None:
    async def done():
        """the events were applied"""
        rows = await query(db, "matching", "SELECT count(*) FROM processed_event")
        return rows[0][0] >= count

    await eventually(done)


async def test_a_blocked_best_match_is_never_formed_and_the_left_out_is_told(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app) as client:
        # 1 and 2 share three hobbies: each other's best match; 3 shares nothing.
        for event in (profile(1, 1, 2, 3), profile(2, 1, 2, 3), profile(3)):
            await publish(js, prefix, event)
        await wait_for_participants(db, 3)
        # Blocked, lifted, blocked again; the lifting arrives last but happened before.
        blocked = PartnerBlocked(user_id=2, blocked_user_id=1)
        lifted = PartnerUnblocked(
            user_id=2, blocked_user_id=1, occurred_at=blocked.occurred_at - timedelta(seconds=1)
        )
        await publish(js, prefix, blocked)
        await publish(js, prefix, lifted)
        await applied(db, 5)

        response = await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))
        assert response.status_code == 201, response.text
        round_id = response.json()["round_id"]
        (pair,) = groups_of(await published_pairs(js, app.state.runtime, db))
        assert pair != {1, 2} and 3 in pair
        (left_out,) = {1, 2} - pair
        skipped = await events_in_stream(js, app.state.runtime, RoundSkipped)
        assert [(s.round_id, s.user_id) for s in skipped] == [(round_id, left_out)]

        # Unblocked for good: the best match is formed again, nobody is left out.
        await publish(js, prefix, PartnerUnblocked(user_id=2, blocked_user_id=1))
        await applied(db, 6)
        response = await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))
        second = response.json()["round_id"]
        pairs = [
            e for e in await published_pairs(js, app.state.runtime, db) if e.round_id == second
        ]
        assert groups_of(pairs) == {frozenset({1, 2, 3})}  # a trio: 3 met one of them
        assert len(await events_in_stream(js, app.state.runtime, RoundSkipped)) == 1


async def test_feedback_lands_in_the_round_stats(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app) as client:
        await participants_sharing_one_hobby(js, matching_settings, 4)
        response = await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))
        round_id = response.json()["round_id"]
        path = f"/matching/api/rounds/{round_id}/stats/"
        empty = await client.get(path, headers=auth(STAFF_TOKEN))
        assert empty.status_code == 200, empty.text
        assert empty.json() == {
            "round_id": round_id,
            "users": 4,
            "groups": 2,
            "with_common_hobby": 2,
            "answered": 0,
            "met": 0,
            "rating_mean": None,
        }

        groups = await published_pairs(js, app.state.runtime, db)
        group_of = {m.id: e.group_id for e in groups for m in e.members}
        first = MeetingFeedback(user_id=1, round_id=round_id, group_id=group_of[1], met="not_yet")
        answers = [
            first,
            # The same member again, later: replaces the first answer.
            MeetingFeedback(
                user_id=1,
                round_id=round_id,
                group_id=group_of[1],
                met="yes",
                rating=4,
                occurred_at=first.occurred_at + timedelta(seconds=1),
            ),
            MeetingFeedback(user_id=2, round_id=round_id, group_id=group_of[2], met="yes"),
            MeetingFeedback(user_id=3, round_id=round_id, group_id=group_of[3], met="no"),
            # Not a member of that group: ignored.
            MeetingFeedback(
                user_id=4, round_id=round_id, group_id=group_of[1], met="yes", rating=1
            ),
        ]
        for answer in reversed(answers):  # arrival order does not matter
            await publish(js, prefix, answer)
        await applied(db, 4 + len(answers))
        stats = (await client.get(path, headers=auth(STAFF_TOKEN))).json()
        assert (stats["answered"], stats["met"], stats["rating_mean"]) == (3, 2, 4.0)

        assert (await client.get(path, headers=auth(USER_TOKEN))).status_code == 403
        assert (await client.get(path)).status_code == 401
        for refused in (0, -1, 2**70, "abc"):  # ids no round can have: refused, never a 500
            bad = f"/matching/api/rounds/{refused}/stats/"
            assert (await client.get(bad, headers=auth(STAFF_TOKEN))).status_code == 400
        missing = "/matching/api/rounds/999999/stats/"
        assert (await client.get(missing, headers=auth(STAFF_TOKEN))).status_code == 404


async def test_a_deleted_account_leaves_future_rounds_and_its_blocks_go(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app) as client:
        await participants_sharing_one_hobby(js, matching_settings, 3)
        first = (await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))).json()
        (trio,) = await published_pairs(js, app.state.runtime, db)
        await publish(js, prefix, PartnerBlocked(user_id=1, blocked_user_id=2))
        await publish(js, prefix, PartnerBlocked(user_id=2, blocked_user_id=3))
        answer = MeetingFeedback(
            user_id=1, round_id=first["round_id"], group_id=trio.group_id, met="yes", rating=5
        )
        await publish(js, prefix, answer)
        await applied(db, 6)
        gone = AccountDeleted(user_id=2)
        await publish(js, prefix, gone)
        await applied(db, 7)
        # Events about the deleted account arriving late change nothing.
        late = profile(2, 1)
        late = late.model_copy(update={"occurred_at": gone.occurred_at - timedelta(seconds=5)})
        await publish(js, prefix, late)
        await publish(js, prefix, PartnerBlocked(user_id=3, blocked_user_id=2))
        await publish(js, prefix, answer.model_copy(update={"event_id": uuid4(), "user_id": 2}))
        await applied(db, 10)

        assert await query(db, "matching", "SELECT user_id FROM participant ORDER BY 1") == [
            (1,),
            (3,),
        ]
        assert await query(db, "matching", "SELECT count(*) FROM block") == [(0,)]
        assert await query(db, "matching", "SELECT user_id FROM meeting_feedback") == [(1,)]
        stats = f"/matching/api/rounds/{first['round_id']}/stats/"
        figures = (await client.get(stats, headers=auth(STAFF_TOKEN))).json()
        assert (figures["users"], figures["groups"], figures["answered"]) == (3, 1, 1)
        response = await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))
        assert response.json()["users"] == 2
        second = response.json()["round_id"]
        pairs = await published_pairs(js, app.state.runtime, db)
        assert groups_of([e for e in pairs if e.round_id == second]) == {frozenset({1, 3})}


# An event about user 2 that deleting 2 must not leave behind, and the table it writes.
ABOUT_TWO = {
    "profile change": (profile(2, 1), "participant"),
    "block": (PartnerBlocked(user_id=1, blocked_user_id=2), "block"),
}


@pytest.mark.parametrize("event", ABOUT_TWO)
@pytest.mark.parametrize("deletion_first", [True, False], ids=["deletion first", "event first"])
async def test_a_deletion_racing_an_event_about_the_account_leaves_nothing(
    matching_settings, event, deletion_first
):
    """``account.deleted`` and the events about a person are separate consumers and may
    apply at the same moment: whichever transaction writes first, nothing of the deleted
    account is left (no participant of future rounds, no block)."""
    db = matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app):
        about, table = ABOUT_TWO[event]
        apply = service.apply_profile_change if event == "profile change" else service.apply_block
        steps = [
            lambda uow: service.forget_account(uow, AccountDeleted(user_id=2)),
            lambda uow: apply(uow, about),
        ]
        if not deletion_first:
            steps.reverse()
        await race(app.state.runtime, db, *steps)
        assert await query(db, "matching", f"SELECT count(*) FROM {table}") == [(0,)]
