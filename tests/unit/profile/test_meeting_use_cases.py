"""Answers about meetings and blocks (meetings.py) on the in-memory unit of work."""

from datetime import UTC, datetime, timedelta

import pytest

from profile_service import meetings, service
from tests.unit.profile.fakes import FakeProfileUnitOfWork, group
from unimatch_shared.errors import Invalid, NotFound
from unimatch_shared.events import (
    AccountDeleted,
    MeetingFeedback,
    PartnerBlocked,
    PartnerUnblocked,
)

MET = {"met": "yes", "rating": 5, "comment": "Nice"}


@pytest.fixture
async def uow() -> FakeProfileUnitOfWork:
    """Users 1 and 2 were matched (rows 1: 1->2 and 2: 2->1)."""
    uow = FakeProfileUnitOfWork()
    await service.on_pair_created(uow, group(1, 11, 1, 2))
    return uow


async def test_an_answer_about_ones_own_match_is_stored_and_published_once(uow):
    view = await meetings.answer_feedback(uow, 1, 1, MET)
    assert (view["met"], view["rating"]) == ("yes", 5)
    [event] = uow.published
    assert isinstance(event, MeetingFeedback) and (event.round_id, event.group_id) == (1, 11)
    assert uow.profiles.answers[(1, 1, 11)].comment == "Nice"
    await meetings.on_feedback(uow, event)  # its own delivery back: already applied
    assert len(uow.published) == 1


async def test_an_answer_about_someone_elses_match_is_not_found(uow):
    with pytest.raises(NotFound):
        await meetings.answer_feedback(uow, 1, 2, MET)


async def test_a_rating_without_a_meeting_is_invalid(uow):
    with pytest.raises(Invalid):
        await meetings.answer_feedback(uow, 1, 1, {**MET, "met": "no"})


async def test_an_older_answer_from_the_bot_does_not_replace_a_newer_one(uow):
    newer = MeetingFeedback(user_id=1, round_id=1, group_id=11, met="yes")
    older = MeetingFeedback(
        user_id=1, round_id=1, group_id=11, met="no", occurred_at=newer.occurred_at - timedelta(1)
    )
    await meetings.on_feedback(uow, newer)
    await meetings.on_feedback(uow, older)
    assert uow.profiles.answers[(1, 1, 11)].met == "yes"


async def test_an_answer_of_a_deleted_account_is_dropped(uow):
    await service.on_account_deleted(uow, AccountDeleted(user_id=1))
    await meetings.on_feedback(uow, MeetingFeedback(user_id=1, round_id=1, group_id=11, met="yes"))
    assert uow.profiles.answers == {}


async def test_blocking_a_partner_publishes_once_and_unblocking_lifts_it(uow):
    view = await meetings.block_partner(uow, 1, 2)
    assert (view["user_id"], view["first_name"]) == (2, "N2")
    again = await meetings.block_partner(uow, 1, 2)
    assert again["created_at"] == view["created_at"]
    await meetings.unblock_partner(uow, 1, 2)
    assert [type(e) for e in uow.published] == [PartnerBlocked, PartnerUnblocked]
    assert not uow.profiles.blocks[(1, 2)].blocked
    with pytest.raises(NotFound):
        await meetings.unblock_partner(uow, 1, 2)


async def test_only_a_past_partner_can_be_blocked(uow):
    with pytest.raises(Invalid) as refused:
        await meetings.block_partner(uow, 1, 3)
    assert refused.value.errors == {"user_id": [meetings.NEVER_MATCHED]}
    await service.on_account_deleted(uow, AccountDeleted(user_id=2))
    with pytest.raises(Invalid):
        await meetings.block_partner(uow, 1, 2)


async def test_block_changes_from_the_bot_apply_in_any_order(uow):
    blocked = PartnerBlocked(user_id=1, blocked_user_id=2)
    lifted = PartnerUnblocked(
        user_id=1, blocked_user_id=2, occurred_at=datetime.now(UTC) + timedelta(1)
    )
    await meetings.on_block_change(uow, lifted)
    await meetings.on_block_change(uow, blocked)
    assert not uow.profiles.blocks[(1, 2)].blocked
