"""The matching service layer: each use case is one function over a unit of work."""

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from matching_service.adapters.db.tables import Block, MatchRound, MeetingFeedback, Participant
from matching_service.domain.grouping import Participant as Candidate
from matching_service.domain.grouping import make_groups
from matching_service.domain.participation import common_hobby_ids, shared_hobbies, takes_part
from matching_service.domain.rounds import NewGroup
from matching_service.domain.schedule import Schedule
from matching_service.metrics import record_round
from matching_service.unit_of_work import MatchingUnitOfWork
from unimatch_shared import events
from unimatch_shared.errors import NotFound
from unimatch_shared.inbox import applied_once

CONSUMER = "matching"
# Held for a whole round, so rounds never overlap, whichever instance runs them.
ROUND_LOCK = "matching.round"
# What matching keeps of an answer about a meeting (the comment is the user's own).
ANSWER_FIELDS = {"user_id", "round_id", "group_id", "met", "rating"}


@applied_once(CONSUMER)
async def apply_profile_change(uow: MatchingUnitOfWork, event: events.ProfileChanged) -> None:
    """Upsert the participant, once per event, and never over a newer event's data, nor
    for an account deleted meanwhile."""
    if not await uow.matching.is_deleted(event.user_id):
        await uow.matching.save_participant(
            Participant(
                user_id=event.user_id,
                email=event.email,
                first_name=event.first_name,
                last_name=event.last_name,
                hobbies=[hobby.model_dump() for hobby in event.hobbies],
                paused=event.paused,
                paused_until=event.paused_until,
                changed_at=event.occurred_at,
            )
        )


@applied_once(CONSUMER)
async def apply_block(
    uow: MatchingUnitOfWork, event: events.PartnerBlocked | events.PartnerUnblocked
) -> None:
    """Record a block or its lifting; whichever happened last wins, in any arrival order."""
    repo = uow.matching
    if not await repo.deleted_among([event.user_id, event.blocked_user_id]):
        blocked = isinstance(event, events.PartnerBlocked)
        pair = event.model_dump(include={"user_id", "blocked_user_id"})
        await repo.save_block(Block(**pair, blocked=blocked, changed_at=event.occurred_at))


@applied_once(CONSUMER)
async def apply_feedback(uow: MatchingUnitOfWork, event: events.MeetingFeedback) -> None:
    """Keep a member's latest answer about their group for the round's stats; an answer
    about a group the user was not in, or from a deleted account, is ignored."""
    repo = uow.matching
    if await repo.was_member(
        event.user_id, event.round_id, event.group_id
    ) and not await repo.is_deleted(event.user_id):
        answer = event.model_dump(include=ANSWER_FIELDS)
        await repo.save_feedback(MeetingFeedback(**answer, answered_at=event.occurred_at))


@applied_once(CONSUMER)
async def forget_account(uow: MatchingUnitOfWork, event: events.AccountDeleted) -> None:
    """The account is gone: out of future rounds, its blocks (both ways) and answers go.
    Past groups stay, so the rounds' figures and everyone else's history hold."""
    await uow.matching.forget(event.user_id, event.occurred_at)


async def round_stats(uow: MatchingUnitOfWork, round_id: int) -> dict:
    """A round's figures and how its members answered "did you meet?"."""
    async with uow:
        match_round = await uow.matching.get_round(round_id)
        if match_round is None:
            raise NotFound()
        answered, met, rating_mean = await uow.matching.answer_figures(round_id)
    return {
        "round_id": round_id,
        "users": match_round.users,
        "groups": match_round.groups,
        "with_common_hobby": match_round.with_common_hobby,
        "answered": answered,
        "met": met,
        "rating_mean": None if rating_mean is None else round(rating_mean, 2),
    }


async def run_round(uow: MatchingUnitOfWork, schedule: Schedule) -> MatchRound:
    """A round now, outside the schedule (staff's ``POST /matching/api/rounds``)."""
    async with uow:
        await uow.lock(ROUND_LOCK)
        now = await uow.matching.clock()
        started = time.perf_counter()
        with _collector_paused():
            match_round = await _hold_round(uow, schedule, now, slot=None)
        await uow.commit()
    record_round(match_round, time.perf_counter() - started)
    return match_round


async def run_due_round(
    uow: MatchingUnitOfWork, schedule: Schedule, now: datetime | None = None
) -> MatchRound | None:
    """The round for the latest slot at or before now, unless a scheduled round already ran
    in that slot's period (its week), or the slot is older than the scheduler's epoch
    (docs/adr/005-round-scheduling.md).

    "Now" is the database's clock, read after the round lock was taken (``now``: tests
    only), so instances whose clocks differ agree on which slot is due. Checked and claimed
    under the round lock, so the period gets one round across instances;
    ``match_round.period`` is unique as a backstop.
    """
    async with uow:
        await uow.lock(ROUND_LOCK)
        now = now or await uow.matching.clock()
        slot = schedule.latest_slot(now)
        period = schedule.period(slot)
        epoch = await uow.matching.scheduler_epoch(now)
        if slot <= epoch or await uow.matching.period_taken(period):
            await uow.commit()  # keeps the epoch, if this call recorded it
            return None
        started = time.perf_counter()
        with _collector_paused():
            match_round = await _hold_round(uow, schedule, now, slot=slot, period=period)
        await uow.commit()
    record_round(match_round, time.perf_counter() - started)
    return match_round


async def recent_rounds(uow: MatchingUnitOfWork, limit: int = 20) -> list[MatchRound]:
    async with uow:
        return await uow.matching.recent_rounds(limit)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a round runs: a 100,000-user round allocates
    ~1.3 M containers (rows, groups, events), which set off ~9 full collections, each
    scanning everything the round holds: nearly half the round's CPU (docs/benchmarks.md).
    Reference counting still frees what the round drops; cycles wait for the round's end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _hold_round(
    uow: MatchingUnitOfWork,
    schedule: Schedule,
    now: datetime,
    slot: datetime | None,
    period: date | None = None,
) -> MatchRound:
    """Group everyone taking part, store the round and emit one ``PairCreated`` per group,
    in the caller's transaction (so the events go out once, with the round, or never).
    Whoever blocks left out of every group is told so (``RoundSkipped``)."""
    repo = uow.matching
    today = schedule.today(now)
    taking_part = {
        p.user_id: p
        for p in await repo.participants()
        if takes_part(p.paused, p.paused_until, today)
    }
    match_round = MatchRound(slot=slot, period=period, started_at=now, users=len(taking_part))
    await repo.save_round(match_round)
    round_id = match_round.id
    assert round_id is not None  # the flush gave it one

    candidates = [Candidate(p.user_id, frozenset(p.hobby_ids)) for p in taking_part.values()]
    groups = await asyncio.to_thread(
        make_groups,
        candidates,
        met_before=await repo.met_before(),
        last_trio=await repo.last_trio(round_id),
        seed=round_id,
        blocked=await repo.blocked_pairs(),
    )
    new_groups, announcements = [], []
    with_common_hobby = 0
    group_ids = await repo.new_group_ids(len(groups))
    for group_id, event_id, member_ids in zip(
        group_ids, events.new_event_ids(len(groups)), groups, strict=True
    ):
        members = [taking_part[user_id] for user_id in member_ids]
        hobbies = [dict(zip(m.hobby_ids, m.hobby_names, strict=True)) for m in members]
        common = common_hobby_ids(hobbies)
        group = NewGroup(group_id, member_ids, shared_hobbies(hobbies, common))
        new_groups.append(group)
        with_common_hobby += bool(common)
        announcements.append(
            events.PairCreated.encode_unvalidated(
                event_id=event_id,
                round_id=round_id,
                group_id=group.id,
                created_at=now,
                members=[
                    # events.GroupMember's fields, in order.
                    {
                        "id": m.user_id,
                        "first_name": m.first_name,
                        "last_name": m.last_name,
                        "email": m.email,
                    }
                    for m in members
                ],
                shared_hobbies=group.shared_hobbies,
            )
        )
    await repo.store_groups(round_id, new_groups)
    await uow.emit_all(announcements)
    if len(candidates) >= 2:  # alone in a round is no one's doing
        grouped = {user_id for group in groups for user_id in group}
        for user_id in taking_part.keys() - grouped:
            uow.emit(events.RoundSkipped(round_id=round_id, user_id=user_id))
    match_round.groups, match_round.with_common_hobby = len(groups), with_common_hobby
    match_round.finished_at = datetime.now(UTC)
    await repo.save_round(match_round)
    return match_round
