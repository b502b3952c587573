"""A round's SQL: its reads as plain rows and its writes in bulk.

A 100,000-user round reads 100,000 participants and writes 50,000 groups with 100,000
members; as ORM objects that alone took ~20 s. Here the big reads come straight from
psycopg as tuples and the writes are COPY, with the groups' ids drawn up front.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from matching_service.adapters.db.tables import GroupMember, MatchGroup, MatchRound
from unimatch_shared.db import copy_rows, fetch_rows


@dataclass(frozen=True)
class NewGroup:
    id: int
    user_ids: Sequence[int]
    shared_hobbies: list[str]


async def participants(session: AsyncSession) -> list:
    """Everyone matching knows of, as named tuples: ``Participant``'s fields, with the
    hobbies as two parallel arrays, ``hobby_ids`` and ``hobby_names`` (PostgreSQL takes the
    JSON apart; parsing it in Python cost seconds at 100,000 users)."""
    return await fetch_rows(
        session,
        "SELECT user_id, email, first_name, last_name, paused, paused_until,"
        " ARRAY(SELECT (h->>'id')::int FROM jsonb_array_elements(hobbies)"
        "   WITH ORDINALITY AS e(h, n) ORDER BY n) AS hobby_ids,"
        " ARRAY(SELECT h->>'name' FROM jsonb_array_elements(hobbies)"
        "   WITH ORDINALITY AS e(h, n) ORDER BY n) AS hobby_names"
        " FROM participant ORDER BY user_id",
    )


async def met_before(session: AsyncSession) -> list[tuple[int, int]]:
    """Every pair of users who were ever in one group together."""
    return await fetch_rows(
        session,
        "SELECT DISTINCT a.user_id AS a, b.user_id AS b FROM group_member a"
        " JOIN group_member b ON a.group_id = b.group_id AND a.user_id < b.user_id",
    )


async def blocked_pairs(session: AsyncSession) -> list[tuple[int, int]]:
    """Every pair one of whom blocked the other (blocks are rare: a few rows)."""
    return await fetch_rows(session, "SELECT user_id, blocked_user_id FROM block WHERE blocked")


async def last_trio(session: AsyncSession, current_round_id: int) -> list[int]:
    """The members of the previous round's trio, if it had one."""
    previous = (
        select(func.max(MatchRound.id))
        .where(col(MatchRound.id) < current_round_id)
        .scalar_subquery()
    )
    rows = await session.exec(
        select(GroupMember.user_id)
        .join(MatchGroup, col(MatchGroup.id) == GroupMember.group_id)
        .where(MatchGroup.round_id == previous, col(MatchGroup.is_trio))
    )
    return list(rows.all())


async def new_group_ids(session: AsyncSession, count: int) -> list[int]:
    """``count`` ids from ``match_group``'s identity sequence in one query, so a group's
    events can name it before the groups are written."""
    ids = text(
        "SELECT nextval(pg_get_serial_sequence('match_group', 'id')) FROM generate_series(1, :n)"
    )
    # sqlmodel's exec() runs text() as execute() does; its overloads leave it out.
    rows = await session.exec(ids, params={"n": count})  # type: ignore[call-overload]
    return list(rows.scalars())


async def store_groups(session: AsyncSession, round_id: int, groups: Sequence[NewGroup]) -> None:
    """The round's groups and their members, with COPY."""
    await copy_rows(
        session,
        MatchGroup.__tablename__,
        ("id", "round_id", "is_trio", "shared_hobbies"),
        ((g.id, round_id, len(g.user_ids) == 3, g.shared_hobbies) for g in groups),
    )
    await copy_rows(
        session,
        GroupMember.__tablename__,
        ("group_id", "user_id", "round_id"),
        ((g.id, user_id, round_id) for g in groups for user_id in g.user_ids),
    )
