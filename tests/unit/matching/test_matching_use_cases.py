"""Matching's use cases (service.py) on the in-memory unit of work: no PostgreSQL, no NATS."""

import gc
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching_service import service
from matching_service.domain.schedule import Schedule
from tests.unit.matching.fakes import FakeMatchingUnitOfWork
from unimatch_shared.errors import NotFound
from unimatch_shared.events import (
    AccountDeleted,
    Hobby,
    MeetingFeedback,
    PairCreated,
    PartnerBlocked,
    PartnerUnblocked,
    ProfileChanged,
    RoundSkipped,
)

# Mondays 10:00 UTC; the fake database's clock starts on Monday 5 January 2026, 12:00.
MONDAYS = Schedule(0, time(10, 0), ZoneInfo("UTC"))
CHESS, JAZZ = Hobby(id=1, name="Chess"), Hobby(id=3, name="Jazz")


@pytest.fixture
def uow() -> FakeMatchingUnitOfWork:
    return FakeMatchingUnitOfWork()


async def joined(uow: FakeMatchingUnitOfWork, *user_ids: int, **changes) -> None:
    for user_id in user_ids:
        await service.apply_profile_change(uow, profile(user_id, **changes))


def profile(user_id: int, **changes) -> ProfileChanged:
    fields = {"email": f"{user_id}@x.io", "first_name": f"N{user_id}", "last_name": "L"}
    return ProfileChanged(user_id=user_id, hobbies=[CHESS], **fields | changes)


def pairs(uow: FakeMatchingUnitOfWork) -> list[PairCreated]:
    return [e for e in uow.published if isinstance(e, PairCreated)]


# apply_profile_change


async def test_a_profile_change_is_applied_once_and_never_over_a_newer_one(uow):
    newer = profile(1, first_name="New")
    older = profile(1, first_name="Old", occurred_at=newer.occurred_at - timedelta(1))
    await service.apply_profile_change(uow, newer)
    await service.apply_profile_change(uow, older)
    await service.apply_profile_change(uow, newer)
    assert uow.matching.participants_by_id[1].first_name == "New"


async def test_a_profile_change_of_a_deleted_account_is_dropped(uow):
    await service.forget_account(uow, AccountDeleted(user_id=1))
    await joined(uow, 1)
    assert uow.matching.participants_by_id == {}


# apply_block / forget_account


async def test_the_latest_block_change_wins_in_any_order(uow):
    blocked = PartnerBlocked(user_id=1, blocked_user_id=2)
    lifted = PartnerUnblocked(
        user_id=1, blocked_user_id=2, occurred_at=blocked.occurred_at + timedelta(1)
    )
    await service.apply_block(uow, lifted)
    await service.apply_block(uow, blocked)
    assert not uow.matching.blocks[(1, 2)].blocked


async def test_a_deleted_account_leaves_rounds_and_its_blocks_go(uow):
    await joined(uow, 1, 2)
    await service.apply_block(uow, PartnerBlocked(user_id=2, blocked_user_id=1))
    await service.forget_account(uow, AccountDeleted(user_id=1))
    assert list(uow.matching.participants_by_id) == [2] and uow.matching.blocks == {}
    await service.apply_block(uow, PartnerBlocked(user_id=2, blocked_user_id=1))
    assert uow.matching.blocks == {}


# run_round / apply_feedback / round_stats / recent_rounds


async def test_a_round_groups_everyone_taking_part_and_announces_each_group(uow):
    await joined(uow, 1, 2, 3, 4, 5)
    await joined(uow, 6, paused=True)
    match_round = await service.run_round(uow, MONDAYS)
    assert (match_round.users, match_round.groups, match_round.with_common_hobby) == (5, 2, 2)
    assert uow.locks == [service.ROUND_LOCK]
    groups = pairs(uow)
    assert sorted(len(e.members) for e in groups) == [2, 3]
    assert {m.id for e in groups for m in e.members} == {1, 2, 3, 4, 5}
    assert all(e.shared_hobbies == ["Chess"] for e in groups)


async def test_blocked_pairs_are_never_grouped_and_whoever_is_left_out_is_told(uow):
    await joined(uow, 1, 2)
    await service.apply_block(uow, PartnerBlocked(user_id=1, blocked_user_id=2))
    match_round = await service.run_round(uow, MONDAYS)
    assert match_round.groups == 0
    assert sorted(e.user_id for e in uow.published if isinstance(e, RoundSkipped)) == [1, 2]


async def test_answers_count_in_the_rounds_stats_only_from_its_members(uow):
    await joined(uow, 1, 2)
    match_round = await service.run_round(uow, MONDAYS)
    [group] = pairs(uow)
    answer = {"round_id": match_round.id, "group_id": group.group_id}
    await service.apply_feedback(uow, MeetingFeedback(user_id=1, met="yes", rating=4, **answer))
    await service.apply_feedback(uow, MeetingFeedback(user_id=2, met="no", **answer))
    await service.apply_feedback(uow, MeetingFeedback(user_id=9, met="yes", rating=1, **answer))
    stats = await service.round_stats(uow, match_round.id)
    assert (stats["users"], stats["answered"], stats["met"], stats["rating_mean"]) == (
        2,
        2,
        1,
        4.0,
    )


async def test_stats_of_a_round_that_never_ran_are_not_found(uow):
    with pytest.raises(NotFound):
        await service.round_stats(uow, 1)


async def test_recent_rounds_come_newest_first(uow):
    first = await service.run_round(uow, MONDAYS)
    second = await service.run_round(uow, MONDAYS)
    assert [r.id for r in await service.recent_rounds(uow)] == [second.id, first.id]


async def test_a_round_runs_without_cyclic_garbage_collection_and_restores_it(uow, monkeypatch):
    await joined(uow, 1, 2)
    collecting: list[bool] = []
    store_groups = uow.matching.store_groups

    async def storing(round_id, groups):
        collecting.append(gc.isenabled())
        await store_groups(round_id, groups)

    monkeypatch.setattr(uow.matching, "store_groups", storing)
    await service.run_round(uow, MONDAYS)
    assert collecting == [False] and gc.isenabled()


async def test_a_failed_round_restores_garbage_collection(uow, monkeypatch):
    await joined(uow, 1, 2)

    async def failing(round_id, groups):
        raise ConnectionError("database gone")

    monkeypatch.setattr(uow.matching, "store_groups", failing)
    with pytest.raises(ConnectionError):
        await service.run_round(uow, MONDAYS)
    assert gc.isenabled()


# run_due_round


async def test_the_first_check_only_records_the_epoch_and_holds_no_round(uow):
    assert await service.run_due_round(uow, MONDAYS) is None
    assert uow.matching.epoch == uow.matching.now and uow.matching.rounds == {}


async def test_a_due_slot_gets_one_round_in_its_week(uow):
    await service.run_due_round(uow, MONDAYS)  # Monday 5 January, after the slot: the epoch
    uow.matching.now = datetime(2026, 1, 12, 10, 1, tzinfo=UTC)  # a week on, just past 10:00
    held = await service.run_due_round(uow, MONDAYS)
    assert held is not None and held.slot == datetime(2026, 1, 12, 10, tzinfo=UTC)
    uow.matching.now += timedelta(hours=2)
    assert await service.run_due_round(uow, MONDAYS) is None
    assert list(uow.matching.rounds) == [held.id]
