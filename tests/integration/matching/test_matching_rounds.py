"""Rounds end to end inside the matching service: ProfileChanged in, groups stored and
PairCreated out, through the service layer and the staff API."""

from datetime import date, timedelta

from matching_service import service
from tests.conftest import running_app
from tests.integration.matching.helpers import (
    STAFF_TOKEN,
    USER_TOKEN,
    groups_of,
    profile,
    published_pairs,
    started,
    wait_for_participants,
    yesterday_in_yekaterinburg,
)
from tests.support.helpers import auth, publish, query
from unimatch_shared.events import Hobby
from unimatch_shared.rpc import NextRound


async def test_round_groups_everyone_taking_part_and_announces_each_group(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app) as client:
        for event in (
            profile(1, 2, 7),  # 1 and 2 share Спорт
            profile(2, 2, 3),
            profile(3, 5, 6),  # 3 and 4 share Музыка
            profile(4, 5, paused=True, paused_until=yesterday_in_yekaterinburg()),  # over
            profile(5, 2, 5, paused=True),  # paused until resumed
            profile(6, 2, 5, paused=True, paused_until=date(2999, 1, 1)),
        ):
            await publish(js, prefix, event)
        await wait_for_participants(db, 6)

        response = await client.post("/matching/api/rounds/", headers=auth(STAFF_TOKEN))
        assert response.status_code == 201, response.text
        body = response.json()
        assert {k: body[k] for k in ("groups", "users", "with_common_hobby")} == {
            "groups": 2,
            "users": 4,
            "with_common_hobby": 2,
        }
        assert len(body["created_at"]) == len("2025-04-28 10:00:00")

        events = await published_pairs(js, app.state.runtime, db)
        assert groups_of(events) == {frozenset({1, 2}), frozenset({3, 4})}
        assert {e.round_id for e in events} == {body["round_id"]}
        hobbies = {frozenset(m.id for m in e.members): e.shared_hobbies for e in events}
        assert hobbies == {frozenset({1, 2}): ["Спорт"], frozenset({3, 4}): ["Музыка"]}
        first = next(e for e in events if 1 in {m.id for m in e.members})
        member = next(m for m in first.members if m.id == 1)
        assert (member.first_name, member.last_name, member.email) == (
            "Имя1",
            "Фамилия1",
            "user1@example.com",
        )

        stored = await query(
            db,
            "matching",
            "SELECT g.id, g.is_trio, g.shared_hobbies, array_agg(m.user_id ORDER BY m.user_id)"
            " FROM match_group g JOIN group_member m ON m.group_id = g.id"
            " WHERE g.round_id = %s GROUP BY g.id ORDER BY g.id",
            body["round_id"],
        )
        assert {(row[0], tuple(row[3])) for row in stored} == {
            (e.group_id, tuple(sorted(m.id for m in e.members))) for e in events
        }
        assert not any(row[1] for row in stored)


async def test_rounds_repeat_nobody(matching_settings, js):
    """Four users sharing nothing: the three possible pairings, one per round."""
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app):
        for user_id, hobby in zip((1, 2, 3, 4), (1, 3, 6, 9), strict=True):
            await publish(js, prefix, profile(user_id, hobby))
        await wait_for_participants(db, 4)
        runtime, schedule = app.state.runtime, matching_settings.schedule
        rounds = [await service.run_round(runtime.unit_of_work(), schedule) for _ in range(3)]
        assert [(r.groups, r.users, r.with_common_hobby) for r in rounds] == [(2, 4, 0)] * 3

        events = await published_pairs(js, runtime, db)
    pairs = [groups_of(e for e in events if e.round_id == r.id) for r in rounds]
    seen = set().union(*pairs)
    assert len(seen) == 6  # every possible pair exactly once over three rounds


async def test_an_odd_round_has_one_trio(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app):
        for event in (profile(1, 2, 3), profile(2, 2, 5), profile(3, 3, 5)):
            await publish(js, prefix, event)
        await wait_for_participants(db, 3)
        match_round = await service.run_round(
            app.state.runtime.unit_of_work(), matching_settings.schedule
        )
        (trio,) = await published_pairs(js, app.state.runtime, db)
    assert (match_round.groups, match_round.users, match_round.with_common_hobby) == (1, 3, 0)
    assert sorted(m.id for m in trio.members) == [1, 2, 3]
    # Nothing common to all three, so the hobbies any two of them share.
    assert trio.shared_hobbies == ["Спорт", "Рисование", "Музыка"]
    assert await query(db, "matching", "SELECT is_trio FROM match_group") == [(True,)]


async def test_hobby_names_are_stored_and_announced_as_they_are(matching_settings, js):
    """Names with what PostgreSQL's array syntax and COPY treat specially survive both."""
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    names = ['Rock "n" roll', "C:\\Games\\", "{braces}, commas", "NULL", " ", "Tab\there"]
    hobbies = [Hobby(id=i, name=name) for i, name in enumerate(names, start=1)]
    app = started(matching_settings)
    async with running_app(app):
        for user_id in (1, 2):
            await publish(js, prefix, profile(user_id).model_copy(update={"hobbies": hobbies}))
        await wait_for_participants(db, 2)
        await service.run_round(app.state.runtime.unit_of_work(), matching_settings.schedule)
        (pair,) = await published_pairs(js, app.state.runtime, db)
    assert pair.shared_hobbies == names
    assert await query(db, "matching", "SELECT shared_hobbies FROM match_group") == [(names,)]


async def test_fewer_than_two_participants_make_no_groups(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = started(matching_settings)
    async with running_app(app) as client:
        empty = (await client.post("/matching/api/rounds", headers=auth(STAFF_TOKEN))).json()
        await publish(js, prefix, profile(1, 2))
        await wait_for_participants(db, 1)
        single = (await client.post("/matching/api/rounds", headers=auth(STAFF_TOKEN))).json()
        assert await published_pairs(js, app.state.runtime, db) == []
    assert [(r["users"], r["groups"]) for r in (empty, single)] == [(0, 0), (1, 0)]
    assert await query(
        db, "matching", "SELECT count(*) FROM match_round WHERE finished_at IS NOT NULL"
    ) == [(2,)]


async def test_duplicate_and_stale_profile_events_change_nothing(matching_settings, js):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    newer = profile(1, 5, paused=True)
    older = profile(1, 2, occurred_at=newer.occurred_at - timedelta(minutes=1))
    async with running_app(started(matching_settings)):
        await publish(js, prefix, newer)
        await publish(js, prefix, newer, msg_id="redelivery")  # the same event id again
        await publish(js, prefix, older)  # delivered last, but older than what is applied
        await wait_for_participants(db, 2)  # the redelivery claims no second inbox row
        rows = await query(db, "matching", "SELECT user_id, hobbies, paused FROM participant")
    assert rows == [(1, [{"id": 5, "name": "Музыка"}], True)]


async def test_round_endpoints_need_a_staff_token(matching_settings):
    async with running_app(started(matching_settings)) as client:
        anonymous = await client.post("/matching/api/rounds")
        user = await client.post("/matching/api/rounds", headers=auth(USER_TOKEN))
        bad = await client.post("/matching/api/rounds", headers=auth("f" * 40))
        listing = await client.get("/matching/api/rounds/", headers=auth(USER_TOKEN))
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
        assert (bad.status_code, bad.json()) == (401, {"detail": "Invalid token."})
        assert user.status_code == listing.status_code == 403
        assert user.json() == {"detail": "You do not have permission to perform this action."}

        held = (await client.post("/matching/api/rounds", headers=auth(STAFF_TOKEN))).json()
        rounds = await client.get("/matching/api/rounds", headers=auth(STAFF_TOKEN))
        assert rounds.status_code == 200
        assert rounds.json() == [held | {"slot": None}]


async def test_days_to_match_is_public(matching_settings):
    async with running_app(started(matching_settings)) as client:
        response = await client.get("/users/api/days-to-match/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"days_left", "hours_left", "minutes_left", "next_match_at"}
    assert 0 <= body["days_left"] <= 7 and 0 <= body["hours_left"] <= 23
    assert 0 <= body["minutes_left"] <= 59
    assert body["next_match_at"].endswith(" 10:00:00")


async def test_next_round_answers_the_bot_with_the_same_numbers(matching_settings):
    app = started(matching_settings)
    async with running_app(app) as client:
        messaging = app.state.runtime.messaging
        reply = await messaging.request(NextRound())
        countdown = (await client.get("/users/api/days-to-match/")).json()
    assert reply.next_match_at == countdown["next_match_at"]
    # Asked a moment apart, the two can differ by the minute that ticked over in between.
    asked = reply.days_left * 1440 + reply.hours_left * 60 + reply.minutes_left
    answered = countdown["days_left"] * 1440 + countdown["hours_left"] * 60
    assert asked - (answered + countdown["minutes_left"]) in (0, 1)
