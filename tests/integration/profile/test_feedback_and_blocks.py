"""Profile's answers about meetings, blocks and account deletion: the REST endpoints, the
``feedback`` in pairs rows, the events published, and the bot's events applied."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from profile_service import service
from profile_service.adapters.db import views
from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.e2e.helpers import auth
from tests.support.helpers import query, race
from unimatch_shared.events import (
    AccountDeleted,
    GroupMember,
    MeetingFeedback,
    PairCreated,
    PartnerBlocked,
    PartnerUnblocked,
)
from unimatch_shared.rpc import CreateProfile
from unimatch_shared.sessions import Session


@pytest.fixture
def settings(service_settings) -> ProfileSettings:
    return ProfileSettings(**service_settings)


def token(user_id: int) -> str:
    return f"{user_id:040d}"


class TokensByUser:
    """Stands in for auth: ``token(n)`` is user n's session."""

    async def verify(self, presented: str) -> Session | None:
        return Session(user_id=int(presented)) if presented.isdigit() else None


def group(round_id: int, group_id: int, *user_ids: int) -> PairCreated:
    return PairCreated(
        round_id=round_id,
        group_id=group_id,
        created_at=datetime(2026, 1, round_id, 10, tzinfo=UTC),
        members=[
            GroupMember(id=u, first_name=f"Имя{u}", last_name=f"Фамилия{u}", email=f"{u}@x.ru")
            for u in user_ids
        ],
    )


async def outbox(settings, subject: str) -> list[dict]:
    rows = await query(
        settings.database_url,
        "profile",
        "SELECT payload FROM outbox_message WHERE subject = %s ORDER BY id",
        subject,
    )
    return [json.loads(payload) if isinstance(payload, str) else payload for (payload,) in rows]


async def test_feedback_is_stored_shown_in_both_pairs_surfaces_and_published(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        runtime = app.state.runtime
        await service.on_pair_created(runtime.unit_of_work(), group(1, 11, 1, 2, 3))  # a trio
        await service.on_pair_created(runtime.unit_of_work(), group(2, 12, 1, 4))
        rows = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        assert [row["feedback"] for row in rows] == [None, None, None]
        trio_row = next(row for row in rows if row["partner"]["id"] == 2)

        path = f"/users/api/pairs/{trio_row['id']}/feedback/"
        first = await client.post(path, json={"met": "not_yet"}, headers=auth(token(1)))
        assert first.status_code == 201, first.text
        assert first.json() | {"answered_at": None} == {
            "met": "not_yet",
            "rating": None,
            "comment": "",
            "answered_at": None,
        }
        answer = {"met": "yes", "rating": 5, "comment": "Отлично поговорили"}
        again = await client.post(path, json=answer, headers=auth(token(1)))
        assert again.status_code == 201, again.text
        stored = again.json()
        assert stored | {"answered_at": None} == answer | {"answered_at": None}

        rows = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        by_partner = {row["partner"]["id"]: row["feedback"] for row in rows}
        assert by_partner == {2: stored, 3: stored, 4: None}  # both rows of the trio
        partner_rows = (await client.get("/users/api/pairs/", headers=auth(token(2)))).json()
        assert [row["feedback"] for row in partner_rows] == [None, None]

        published = await outbox(settings, MeetingFeedback.SUBJECT)
        assert [(p["user_id"], p["round_id"], p["group_id"], p["met"]) for p in published] == [
            (1, 1, 11, "not_yet"),
            (1, 1, 11, "yes"),
        ]
        # Its own events, delivered back, change nothing.
        for payload in published:
            await _apply(runtime, MeetingFeedback.model_validate(payload))
        assert json.loads(await views.match_history_json(runtime.reads, 1))[1]["feedback"] == (
            stored
        )

        app.state.access_keys.verify = _web_claims(1)  # the web surface, same rows
        web = (await client.get("/api/pairs/", headers={"Authorization": "Bearer x"})).json()
        assert {
            m["partner"]["id"]: m["feedback"] for m in [web["current_pair"], *web["pairs"]]
        } == {
            2: stored,
            3: stored,
            4: None,
        }


async def _apply(runtime, event) -> None:
    from profile_service import meetings

    if isinstance(event, MeetingFeedback):
        await meetings.on_feedback(runtime.unit_of_work(), event)
    else:
        await meetings.on_block_change(runtime.unit_of_work(), event)


def _web_claims(user_id: int):
    from unimatch_shared.access_tokens import AccessClaims

    async def verify(_token: str) -> AccessClaims:
        return AccessClaims(user_id=user_id, is_staff=False)

    return verify


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"met": "maybe"},
        {"met": None},
        {"met": "yes", "rating": 6},
        {"met": "yes", "rating": 0},
        {"met": "yes", "rating": "5"},
        {"met": "yes", "rating": True},
        {"met": "yes", "rating": 4.5},
        {"met": "no", "rating": 3},  # a rating only with "yes"
        {"met": "yes", "comment": "x" * 1001},
        {"met": "yes", "comment": 5},
        {"met": "yes", "comment": None},
        {"met": "yes", "comment": "a\x00b"},
        {"met": ["yes"]},
        [],
        "yes",
    ],
)
async def test_hostile_feedback_is_refused_with_a_400(settings, body):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        await service.on_pair_created(app.state.runtime.unit_of_work(), group(1, 11, 1, 2))
        (row,) = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        response = await client.post(
            f"/users/api/pairs/{row['id']}/feedback/", json=body, headers=auth(token(1))
        )
        assert response.status_code == 400, response.text
        assert (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()[0][
            "feedback"
        ] is None
    assert await outbox(settings, MeetingFeedback.SUBJECT) == []


async def test_feedback_refusals_say_what_is_wrong(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        await service.on_pair_created(app.state.runtime.unit_of_work(), group(1, 11, 1, 2))
        (row,) = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        path = f"/users/api/pairs/{row['id']}/feedback/"
        answers = [
            (await client.post(path, json=body, headers=auth(token(1)))).json()
            for body in (
                {"met": "maybe"},
                {"met": "no", "rating": 3},
                {"met": "yes", "rating": "5"},
                {"met": "yes", "comment": "ы" * 1001},
            )
        ]
    assert answers == [
        {"met": ['"maybe" is not a valid choice.']},
        {"rating": ['A rating is only given with "met": "yes".']},
        {"rating": ["A valid integer is required."]},
        {"comment": ["Ensure this field has no more than 1000 characters."]},
    ]


async def test_feedback_on_someone_elses_row_or_no_row_is_a_404(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        await service.on_pair_created(app.state.runtime.unit_of_work(), group(1, 11, 1, 2))
        rows = (await client.get("/users/api/pairs/", headers=auth(token(2)))).json()
        answer = {"met": "yes"}
        statuses = [
            (
                await client.post(
                    f"/users/api/pairs/{row_id}/feedback/", json=answer, headers=auth(token(1))
                )
            ).status_code
            for row_id in (rows[0]["id"], 999999)
        ]
        assert statuses == [404, 404]
        for row_id in (0, -3, 2**64, "abc"):
            response = await client.post(
                f"/users/api/pairs/{row_id}/feedback/", json=answer, headers=auth(token(1))
            )
            assert response.status_code == 400, (row_id, response.text)
        unauthenticated = await client.post(
            f"/users/api/pairs/{rows[0]['id']}/feedback/", json=answer
        )
        assert unauthenticated.status_code == 401
    assert await outbox(settings, MeetingFeedback.SUBJECT) == []


async def test_blocks_only_past_partners_listed_and_lifted(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        runtime = app.state.runtime
        await service.on_pair_created(runtime.unit_of_work(), group(1, 11, 1, 2))
        me = auth(token(1))

        for refused in ({"user_id": 3}, {"user_id": 1}, {"user_id": "2"}, {}, {"user_id": 2**70}):
            response = await client.post("/users/api/blocks/", json=refused, headers=me)
            assert response.status_code == 400, (refused, response.text)
        created = await client.post("/users/api/blocks/", json={"user_id": 2}, headers=me)
        assert created.status_code == 201, created.text
        block = created.json()
        assert block | {"created_at": None} == {
            "user_id": 2,
            "first_name": "Имя2",
            "last_name": "Фамилия2",
            "created_at": None,
        }
        again = await client.post("/users/api/blocks/", json={"user_id": 2}, headers=me)
        assert (again.status_code, again.json()) == (201, block)
        assert (await client.get("/users/api/blocks/", headers=me)).json() == [block]
        assert (await client.get("/users/api/blocks/", headers=auth(token(2)))).json() == []

        assert (await client.delete("/users/api/blocks/3/", headers=me)).status_code == 404
        assert (
            await client.delete("/users/api/blocks/2/", headers=auth(token(2)))
        ).status_code == 404
        assert (await client.delete("/users/api/blocks/2/", headers=me)).status_code == 204
        assert (await client.delete("/users/api/blocks/2/", headers=me)).status_code == 404
        assert (await client.get("/users/api/blocks/", headers=me)).json() == []

        blocked = await outbox(settings, PartnerBlocked.SUBJECT)
        lifted = await outbox(settings, PartnerUnblocked.SUBJECT)
        assert [(e["user_id"], e["blocked_user_id"]) for e in blocked + lifted] == [(1, 2)] * 2

        # From the bot: a block and, arriving first though it happened later, its lifting.
        made = PartnerBlocked(user_id=2, blocked_user_id=1)
        undone = PartnerUnblocked(
            user_id=2, blocked_user_id=1, occurred_at=made.occurred_at + timedelta(seconds=1)
        )
        await _apply(runtime, undone)
        await _apply(runtime, made)
        assert (await client.get("/users/api/blocks/", headers=auth(token(2)))).json() == []
        later = undone.occurred_at + timedelta(seconds=1)
        await _apply(runtime, PartnerBlocked(user_id=2, blocked_user_id=1, occurred_at=later))
        (from_bot,) = (await client.get("/users/api/blocks/", headers=auth(token(2)))).json()
        assert from_bot["user_id"] == 1


async def test_a_deleted_account_is_forgotten_and_partners_see_a_deleted_user(settings):
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.token_verifier = TokensByUser()
        runtime = app.state.runtime
        for user_id in (1, 2, 3):
            await service.create_profile(
                runtime.unit_of_work(),
                CreateProfile(user_id=user_id, email=f"{user_id}@x.ru", hobby=[1]),
            )
        await service.on_pair_created(runtime.unit_of_work(), group(1, 11, 1, 2))
        await service.on_pair_created(runtime.unit_of_work(), group(2, 12, 2, 3))
        (row,) = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        await client.post(
            f"/users/api/pairs/{row['id']}/feedback/", json={"met": "yes"}, headers=auth(token(1))
        )
        await client.post("/users/api/blocks/", json={"user_id": 2}, headers=auth(token(1)))
        await client.post("/users/api/blocks/", json={"user_id": 1}, headers=auth(token(2)))
        two = auth(token(2))
        (two_row, _) = (await client.get("/users/api/pairs/", headers=two)).json()
        await client.post(
            f"/users/api/pairs/{two_row['id']}/feedback/", json={"met": "no"}, headers=two
        )

        gone = AccountDeleted(user_id=2)
        for _ in range(2):  # redelivered: the same
            await service.on_account_deleted(runtime.unit_of_work(), gone)
        # A round held just before the deletion, applied after it.
        await service.on_pair_created(runtime.unit_of_work(), group(3, 13, 2, 3))

        assert (await client.get("/users/api/me/", headers=two)).status_code == 404
        assert (await client.get("/users/api/pairs/", headers=two)).json() == []
        assert (await client.get("/users/api/blocks/", headers=two)).json() == []
        assert (await client.get("/users/api/blocks/", headers=auth(token(1)))).json() == []
        (mine,) = (await client.get("/users/api/pairs/", headers=auth(token(1)))).json()
        assert mine["partner"] == {
            "id": 2,
            "first_name": "Удалённый пользователь",
            "last_name": "",
            "email": "",
            "telegram_username": None,
        }
        assert mine["feedback"]["met"] == "yes"  # one's own answer stays
        three = (await client.get("/users/api/pairs/", headers=auth(token(3)))).json()
        assert [(r["partner"]["id"], r["partner"]["first_name"]) for r in three] == [
            (2, "Удалённый пользователь"),
            (2, "Удалённый пользователь"),
        ]
        # Blocking the deleted partner is refused; nothing of theirs is left in the tables.
        refused = await client.post(
            "/users/api/blocks/", json={"user_id": 2}, headers=auth(token(1))
        )
        assert refused.status_code == 400
        left = await query(
            settings.database_url,
            "profile",
            "SELECT (SELECT count(*) FROM profile WHERE user_id = 2)"
            " + (SELECT count(*) FROM profile_hobby WHERE user_id = 2)"
            " + (SELECT count(*) FROM match WHERE user_id = 2 OR partner_email = '2@x.ru')"
            " + (SELECT count(*) FROM meeting_answer WHERE user_id = 2)"
            " + (SELECT count(*) FROM partner_block WHERE 2 IN (user_id, blocked_user_id))",
        )
        assert left == [(0,)]


async def histories(settings) -> list[tuple]:
    return await query(
        settings.database_url,
        "profile",
        "SELECT user_id, partner_id, partner_first_name FROM match ORDER BY user_id",
    )


GONE = [(1, 2, "Удалённый пользователь")]


@pytest.mark.parametrize("deletion_first", [True, False], ids=["deletion first", "match first"])
async def test_a_deletion_racing_a_match_leaves_nothing_of_the_deleted(settings, deletion_first):
    """``account.deleted`` and ``pair.created`` are separate consumers and may apply at the
    same moment: whichever transaction writes first, the other, running meanwhile, must not
    leave the deleted user a history nor their name in the partner's."""
    app = create_app(settings)
    async with running_app(app):
        runtime = app.state.runtime
        for user_id in (1, 2):
            await service.create_profile(
                runtime.unit_of_work(),
                CreateProfile(user_id=user_id, email=f"{user_id}@x.ru", hobby=[1]),
            )
        match, deletion = group(1, 11, 1, 2), AccountDeleted(user_id=2)
        steps = [
            lambda uow: service.on_account_deleted(uow, deletion),
            lambda uow: service.on_pair_created(uow, match),
        ]
        if not deletion_first:
            steps.reverse()
        await race(runtime, settings.database_url, *steps)
        assert await histories(settings) == GONE
