"""Matching's SQL: the participants read model, blocks, answers, deleted accounts and rounds.

A 100,000-user round reads 100,000 participants and writes 50,000 groups with 100,000
members; as ORM objects that alone took ~20 s. So a round's big reads come straight from
psycopg as tuples and its writes are COPY, with the groups' ids drawn up front.
"""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, or_, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select

from matching_service.adapters.db.tables import (
    Block,
    DeletedAccount,
    GroupMember,
    MatchGroup,
    MatchRound,
    MeetingFeedback,
    Participant,
    SchedulerState,
)
from matching_service.domain.rounds import NewGroup, ParticipantRow
from unimatch_shared.db import TracksDeletedAccounts, copy_rows, fetch_rows, save_latest


class MatchingRepository(TracksDeletedAccounts):
    tombstones = DeletedAccount

    async def save_participant(self, participant: Participant) -> None:
        """Insert, or replace an older state of the same participant (by ``changed_at``)."""
        await save_latest(self.session, participant, ["user_id"], "changed_at")

    async def save_block(self, block: Block) -> None:
        """Insert, or replace an older state of the same block (by ``changed_at``)."""
        await save_latest(self.session, block, ["user_id", "blocked_user_id"], "changed_at")

    async def was_member(self, user_id: int, round_id: int, group_id: int) -> bool:
        """Whether the user was in that group of that round."""
        found = await self.session.exec(
            select(GroupMember.user_id).where(
                GroupMember.group_id == group_id,
                GroupMember.user_id == user_id,
                GroupMember.round_id == round_id,
            )
        )
        return found.first() is not None

    async def save_feedback(self, answer: MeetingFeedback) -> None:
        """Insert, or replace an older answer about the same group (by ``answered_at``)."""
        key = ["user_id", "round_id", "group_id"]
        await save_latest(self.session, answer, key, "answered_at")

    async def forget(self, user_id: int, deleted_at: datetime) -> None:
        """A deleted account: out of future rounds, its blocks (both ways) and answers go;
        past groups stay."""
        await self.record_deleted(user_id, deleted_at)
        await self.session.exec(delete(Participant).where(col(Participant.user_id) == user_id))
        await self.session.exec(
            delete(Block).where(
                or_(col(Block.user_id) == user_id, col(Block.blocked_user_id) == user_id)
            )
        )
        await self.session.exec(
            delete(MeetingFeedback).where(col(MeetingFeedback.user_id) == user_id)
        )

    async def get_round(self, round_id: int) -> MatchRound | None:
        return await self.session.get(MatchRound, round_id)

    async def answer_figures(self, round_id: int) -> tuple[int, int, float | None]:
        """How many answered about the round, how many met, and the mean rating."""
        answered, met, rating_mean = (
            await self.session.exec(
                select(
                    func.count(),
                    func.count().filter(col(MeetingFeedback.met) == "yes"),
                    func.avg(MeetingFeedback.rating),
                ).where(MeetingFeedback.round_id == round_id)
            )
        ).one()
        return answered, met, None if rating_mean is None else float(rating_mean)

    async def recent_rounds(self, limit: int) -> list[MatchRound]:
        rows = await self.session.exec(
            select(MatchRound).order_by(col(MatchRound.id).desc()).limit(limit)
        )
        return list(rows.all())

    async def clock(self) -> datetime:
        """The database server's clock now (``now()`` would be the transaction's start)."""
        return (await self.session.exec(select(func.clock_timestamp()))).one()

    async def period_taken(self, period: date) -> bool:
        taken = await self.session.exec(select(MatchRound.id).where(MatchRound.period == period))
        return taken.first() is not None

    async def scheduler_epoch(self, now: datetime) -> datetime:
        """The first start of any scheduler; ``now`` is recorded by the first call ever."""
        await self.session.exec(
            insert(SchedulerState).values(id=1, epoch=now).on_conflict_do_nothing()
        )
        state = await self.session.get(SchedulerState, 1)
        assert state is not None  # inserted above if it was not there
        return state.epoch

    async def save_round(self, match_round: MatchRound) -> None:
        """Store the round (flushed: a new one gets its ``id``)."""
        self.session.add(match_round)
        await self.session.flush()

    async def participants(self) -> list[ParticipantRow]:
        """Everyone matching knows of, the hobbies as two parallel arrays, ``hobby_ids`` and
        ``hobby_names`` (PostgreSQL takes the JSON apart; parsing it in Python cost seconds
        at 100,000 users)."""
        return await fetch_rows(
            self.session,
            "SELECT user_id, email, first_name, last_name, paused, paused_until,"
            " ARRAY(SELECT (h->>'id')::int FROM jsonb_array_elements(hobbies)"
            "   WITH ORDINALITY AS e(h, n) ORDER BY n) AS hobby_ids,"
            " ARRAY(SELECT h->>'name' FROM jsonb_array_elements(hobbies)"
            "   WITH ORDINALITY AS e(h, n) ORDER BY n) AS hobby_names"
            " FROM participant ORDER BY user_id",
        )

    async def met_before(self) -> list[tuple[int, int]]:
        """Every pair of users who were ever in one group together."""
        return await fetch_rows(
            self.session,
            "SELECT DISTINCT a.user_id AS a, b.user_id AS b FROM group_member a"
            " JOIN group_member b ON a.group_id = b.group_id AND a.user_id < b.user_id",
        )

    async def blocked_pairs(self) -> list[tuple[int, int]]:
        """Every pair one of whom blocked the other (blocks are rare: a few rows)."""
        return await fetch_rows(
            self.session, "SELECT user_id, blocked_user_id FROM block WHERE blocked"
        )

    async def last_trio(self, current_round_id: int) -> list[int]:
        """The members of the previous round's trio, if it had one."""
        previous = (
            select(func.max(MatchRound.id))
            .where(col(MatchRound.id) < current_round_id)
            .scalar_subquery()
        )
        rows = await self.session.exec(
            select(GroupMember.user_id)
            .join(MatchGroup, col(MatchGroup.id) == GroupMember.group_id)
            .where(MatchGroup.round_id == previous, col(MatchGroup.is_trio))
        )
        return list(rows.all())

    async def new_group_ids(self, count: int) -> list[int]:
        """``count`` ids from ``match_group``'s identity sequence in one query, so a group's
        events can name it before the groups are written."""
        ids = text(
            "SELECT nextval(pg_get_serial_sequence('match_group', 'id'))"
            " FROM generate_series(1, :n)"
        )
        # sqlmodel's exec() runs text() as execute() does; its overloads leave it out.
        rows = await self.session.exec(ids, params={"n": count})  # type: ignore[call-overload]
        return list(rows.scalars())

    async def store_groups(self, round_id: int, groups: Sequence[NewGroup]) -> None:
        """The round's groups and their members, with COPY."""
        await copy_rows(
            self.session,
            MatchGroup.__tablename__,
            ("id", "round_id", "is_trio", "shared_hobbies"),
            ((g.id, round_id, len(g.user_ids) == 3, _text_array(g.shared_hobbies)) for g in groups),
        )
        await copy_rows(
            self.session,
            GroupMember.__tablename__,
            ("group_id", "user_id", "round_id"),
            ((g.id, user_id, round_id) for g in groups for user_id in g.user_ids),
        )


def _text_array(texts: Sequence[str]) -> str:
    """``texts`` in PostgreSQL's input syntax for ``text[]``, every element quoted (so no
    content needs more than backslashes before ``"`` and ``\\``). psycopg's list dumper
    is pure Python: it cost ~0.2 s of CPU per 50,000 groups written with COPY."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in texts)
    return "{" + ",".join(quoted) + "}"
