"""The matching service layer: each use case is one function over a unit of work."""

import asyncio
import time
from datetime import UTC, date, datetime

from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select

from matching_service.adapters.db import rounds
from matching_service.adapters.db.tables import (
    Block,
    DeletedAccount,
    GroupMember,
    MatchRound,
    MeetingFeedback,
    Participant,
    SchedulerState,
)
from matching_service.domain.grouping import Participant as Candidate
from matching_service.domain.grouping import make_groups
from matching_service.domain.participation import common_hobby_ids, shared_hobbies, takes_part
from matching_service.domain.schedule import Schedule
from matching_service.metrics import record_round
from unimatch_shared import events
from unimatch_shared.unit_of_work import UnitOfWork

CONSUMER = "matching"
# Held for a whole round, so rounds never overlap, whichever instance runs them.
ROUND_LOCK = select(func.pg_advisory_xact_lock(func.hashtext("matching.round")))


async def apply_profile_change(uow: UnitOfWork, event: events.ProfileChanged) -> None:
    """Upsert the participant, once per event, and never over a newer event's data, nor
    for an account deleted meanwhile."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        if await _deleted(uow, event.user_id):
            await uow.commit()
            return
        upsert = insert(Participant).values(
            user_id=event.user_id,
            email=event.email,
            first_name=event.first_name,
            last_name=event.last_name,
            hobbies=[hobby.model_dump() for hobby in event.hobbies],
            paused=event.paused,
            paused_until=event.paused_until,
            changed_at=event.occurred_at,
        )
        # SQLModel sets __table__ on table=True models but does not declare it.
        columns = Participant.__table__.columns  # type: ignore[attr-defined]
        changed = {c.name: upsert.excluded[c.name] for c in columns}
        await uow.session.exec(
            upsert.on_conflict_do_update(
                index_elements=["user_id"],
                set_=changed,
                where=col(Participant.changed_at) <= upsert.excluded.changed_at,
            )
        )
        await uow.commit()


async def apply_block(
    uow: UnitOfWork, event: events.PartnerBlocked | events.PartnerUnblocked
) -> None:
    """Record a block or its lifting; whichever happened last wins, in any arrival order."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        if not (await _deleted(uow, event.user_id) or await _deleted(uow, event.blocked_user_id)):
            upsert = insert(Block).values(
                user_id=event.user_id,
                blocked_user_id=event.blocked_user_id,
                blocked=isinstance(event, events.PartnerBlocked),
                changed_at=event.occurred_at,
            )
            await uow.session.exec(
                upsert.on_conflict_do_update(
                    index_elements=["user_id", "blocked_user_id"],
                    set_={
                        "blocked": upsert.excluded.blocked,
                        "changed_at": upsert.excluded.changed_at,
                    },
                    where=col(Block.changed_at) <= upsert.excluded.changed_at,
                )
            )
        await uow.commit()


async def apply_feedback(uow: UnitOfWork, event: events.MeetingFeedback) -> None:
    """Keep a member's latest answer about their group for the round's stats; an answer
    about a group the user was not in, or from a deleted account, is ignored."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        member = await uow.session.exec(
            select(GroupMember.user_id).where(
                GroupMember.group_id == event.group_id,
                GroupMember.user_id == event.user_id,
                GroupMember.round_id == event.round_id,
            )
        )
        if member.first() is not None and not await _deleted(uow, event.user_id):
            upsert = insert(MeetingFeedback).values(
                user_id=event.user_id,
                round_id=event.round_id,
                group_id=event.group_id,
                met=event.met,
                rating=event.rating,
                answered_at=event.occurred_at,
            )
            await uow.session.exec(
                upsert.on_conflict_do_update(
                    index_elements=["user_id", "round_id", "group_id"],
                    set_={
                        "met": upsert.excluded.met,
                        "rating": upsert.excluded.rating,
                        "answered_at": upsert.excluded.answered_at,
                    },
                    where=col(MeetingFeedback.answered_at) <= upsert.excluded.answered_at,
                )
            )
        await uow.commit()


async def forget_account(uow: UnitOfWork, event: events.AccountDeleted) -> None:
    """The account is gone: out of future rounds, its blocks (both ways) and answers go.
    Past groups stay, so the rounds' figures and everyone else's history hold."""
    user_id = event.user_id
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return
        await uow.session.exec(
            insert(DeletedAccount)
            .values(user_id=user_id, deleted_at=event.occurred_at)
            .on_conflict_do_nothing()
        )
        await uow.session.exec(delete(Participant).where(col(Participant.user_id) == user_id))
        await uow.session.exec(
            delete(Block).where(
                or_(col(Block.user_id) == user_id, col(Block.blocked_user_id) == user_id)
            )
        )
        await uow.session.exec(
            delete(MeetingFeedback).where(col(MeetingFeedback.user_id) == user_id)
        )
        await uow.commit()


async def _deleted(uow: UnitOfWork, user_id: int) -> bool:
    return await uow.session.get(DeletedAccount, user_id) is not None


async def round_stats(uow: UnitOfWork, round_id: int) -> dict | None:
    """A round's figures and how its members answered "did you meet?"; None if no round."""
    async with uow:
        match_round = await uow.session.get(MatchRound, round_id)
        if match_round is None:
            return None
        answered, met, rating_mean = (
            await uow.session.exec(
                select(
                    func.count(),
                    func.count().filter(col(MeetingFeedback.met) == "yes"),
                    func.avg(MeetingFeedback.rating),
                ).where(MeetingFeedback.round_id == round_id)
            )
        ).one()
    return {
        "round_id": round_id,
        "users": match_round.users,
        "groups": match_round.groups,
        "with_common_hobby": match_round.with_common_hobby,
        "answered": answered,
        "met": met,
        "rating_mean": None if rating_mean is None else round(float(rating_mean), 2),
    }


async def run_round(uow: UnitOfWork, schedule: Schedule) -> MatchRound:
    """A round now, outside the schedule (staff's ``POST /matching/api/rounds``)."""
    async with uow:
        await uow.session.exec(ROUND_LOCK)
        now = await database_now(uow)
        started = time.perf_counter()
        match_round = await _hold_round(uow, schedule, now, slot=None)
        await uow.commit()
    record_round(match_round, time.perf_counter() - started)
    return match_round


async def run_due_round(
    uow: UnitOfWork, schedule: Schedule, now: datetime | None = None
) -> MatchRound | None:
    """The round for the latest slot at or before now, unless a scheduled round already ran
    in that slot's period (its week), or the slot is older than the scheduler's epoch
    (docs/adr/005-round-scheduling.md).

    "Now" is the database's clock (``now``: tests only), so instances whose clocks differ
    agree on which slot is due. Checked and claimed under the round lock, so the period
    gets one round across instances; ``match_round.period`` is unique as a backstop.
    """
    async with uow:
        await uow.session.exec(ROUND_LOCK)
        now = now or await database_now(uow)
        slot = schedule.latest_slot(now)
        period = schedule.period(slot)
        epoch = await _scheduler_epoch(uow, now)
        taken = await uow.session.exec(select(MatchRound.id).where(MatchRound.period == period))
        if slot <= epoch or taken.first() is not None:
            await uow.commit()  # keeps the epoch, if this call recorded it
            return None
        started = time.perf_counter()
        match_round = await _hold_round(uow, schedule, now, slot=slot, period=period)
        await uow.commit()
    record_round(match_round, time.perf_counter() - started)
    return match_round


async def database_now(uow: UnitOfWork) -> datetime:
    """The database server's clock, read after the round lock was taken (``now()`` would be
    the transaction's start, before any wait for the lock): one clock for every instance."""
    return (await uow.session.exec(select(func.clock_timestamp()))).one()


async def recent_rounds(uow: UnitOfWork, limit: int = 20) -> list[MatchRound]:
    async with uow:
        rows = await uow.session.exec(
            select(MatchRound).order_by(col(MatchRound.id).desc()).limit(limit)
        )
        return list(rows.all())


async def _scheduler_epoch(uow: UnitOfWork, now: datetime) -> datetime:
    """The first start of any scheduler; recorded by the first call ever."""
    await uow.session.exec(insert(SchedulerState).values(id=1, epoch=now).on_conflict_do_nothing())
    state = await uow.session.get(SchedulerState, 1)
    assert state is not None  # inserted above if it was not there
    return state.epoch


async def _hold_round(
    uow: UnitOfWork,
    schedule: Schedule,
    now: datetime,
    slot: datetime | None,
    period: date | None = None,
) -> MatchRound:
    """Group everyone taking part, store the round and emit one ``PairCreated`` per group,
    in the caller's transaction (so the events go out once, with the round, or never).
    Whoever blocks left out of every group is told so (``RoundSkipped``)."""
    session = uow.session
    today = schedule.today(now)
    taking_part = {
        p.user_id: p
        for p in await rounds.participants(session)
        if takes_part(p.paused, p.paused_until, today)
    }
    match_round = MatchRound(slot=slot, period=period, started_at=now, users=len(taking_part))
    session.add(match_round)
    await session.flush()
    round_id = match_round.id
    assert round_id is not None  # the flush gave it one

    candidates = [Candidate(p.user_id, frozenset(p.hobby_ids)) for p in taking_part.values()]
    groups = await asyncio.to_thread(
        make_groups,
        candidates,
        met_before=await rounds.met_before(session),
        last_trio=await rounds.last_trio(session, round_id),
        seed=round_id,
        blocked=await rounds.blocked_pairs(session),
    )
    new_groups, announcements = [], []
    group_ids = await rounds.new_group_ids(session, len(groups))
    for group_id, event_id, member_ids in zip(
        group_ids, events.new_event_ids(len(groups)), groups, strict=True
    ):
        members = [taking_part[user_id] for user_id in member_ids]
        hobbies = [dict(zip(m.hobby_ids, m.hobby_names, strict=True)) for m in members]
        group = rounds.NewGroup(group_id, member_ids, shared_hobbies(hobbies))
        new_groups.append(group)
        match_round.with_common_hobby += bool(common_hobby_ids(hobbies))
        announcements.append(
            events.PairCreated(
                event_id=event_id,
                round_id=round_id,
                group_id=group.id,
                created_at=now,
                members=[
                    events.GroupMember(
                        id=m.user_id, first_name=m.first_name, last_name=m.last_name, email=m.email
                    )
                    for m in members
                ],
                shared_hobbies=group.shared_hobbies,
            )
        )
    await rounds.store_groups(session, round_id, new_groups)
    await uow.emit_all(announcements)
    if len(candidates) >= 2:  # alone in a round is no one's doing
        grouped = {user_id for group in groups for user_id in group}
        for user_id in taking_part.keys() - grouped:
            uow.emit(events.RoundSkipped(round_id=round_id, user_id=user_id))
    match_round.groups = len(groups)
    match_round.finished_at = datetime.now(UTC)
    session.add(match_round)
    await session.flush()
    return match_round
