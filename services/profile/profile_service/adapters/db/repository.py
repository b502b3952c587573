"""Queries on the profile schema, so the service layer reads as use cases."""

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from profile_service.adapters.db.tables import (
    Block,
    DeletedAccount,
    Hobby,
    Match,
    MeetingFeedback,
    Profile,
    ProfileHobby,
)
from profile_service.domain.model import DELETED_USER
from unimatch_shared.db import TracksDeletedAccounts, save_latest

_INTEGER = range(-(2**31), 2**31)  # PostgreSQL's integer


class ProfileRepository(TracksDeletedAccounts):
    tombstones = DeletedAccount

    async def existing_hobby_ids(self, ids: list[int]) -> set[int]:
        # An id the integer column cannot hold exists nowhere; PostgreSQL would refuse it.
        storable = [hobby_id for hobby_id in ids if hobby_id in _INTEGER]
        found = await self.session.exec(select(Hobby.id).where(col(Hobby.id).in_(storable)))
        return set(found.all())

    async def add(self, profile: Profile) -> None:
        """Store a new profile (flushed: its hobbies refer to it)."""
        self.session.add(profile)
        await self.session.flush()

    async def all_hobbies(self) -> list[Hobby]:
        return list((await self.session.exec(select(Hobby).order_by(col(Hobby.id)))).all())

    async def get(self, user_id: int, for_update: bool = False) -> Profile | None:
        query = select(Profile).where(Profile.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def hobbies_of(self, user_id: int) -> list[Hobby]:
        query = (
            select(Hobby)
            .join(ProfileHobby, col(ProfileHobby.hobby_id) == Hobby.id)
            .where(ProfileHobby.user_id == user_id)
            .order_by(col(Hobby.id))
        )
        return list((await self.session.exec(query)).all())

    async def replace_hobbies(self, user_id: int, hobby_ids: list[int]) -> None:
        await self.session.exec(delete(ProfileHobby).where(col(ProfileHobby.user_id) == user_id))
        await self.session.flush()
        self.session.add_all(ProfileHobby(user_id=user_id, hobby_id=h) for h in hobby_ids)
        await self.session.flush()

    async def add_match(self, match: Match) -> None:
        """Insert unless this (group, user, partner) row exists already."""
        values = match.model_dump(exclude={"id"})
        await self.session.exec(insert(Match).values(**values).on_conflict_do_nothing())

    async def unconfirmed_before(self, cutoff: datetime, limit: int) -> list[int]:
        """Users of unconfirmed profiles created before ``cutoff``, oldest first."""
        query = (
            select(Profile.user_id)
            .where(~col(Profile.confirmed), col(Profile.created_at) < cutoff)
            .order_by(col(Profile.created_at), col(Profile.user_id))
            .limit(limit)
        )
        return list((await self.session.exec(query)).all())

    async def lock_unconfirmed(self, user_ids: list[int], cutoff: datetime) -> list[Profile]:
        """These users' profiles, locked, if still unconfirmed and created before ``cutoff``."""
        query = (
            select(Profile)
            .where(
                col(Profile.user_id).in_(user_ids),
                ~col(Profile.confirmed),
                col(Profile.created_at) < cutoff,
            )
            .order_by(col(Profile.user_id))
            .with_for_update()
        )
        return list((await self.session.exec(query)).all())

    async def delete_profiles(self, user_ids: list[int]) -> int:
        result = await self.session.exec(delete(Profile).where(col(Profile.user_id).in_(user_ids)))
        return result.rowcount

    async def own_match(self, user_id: int, match_id: int) -> Match | None:
        """The history entry ``match_id`` if it is ``user_id``'s."""
        query = select(Match).where(Match.id == match_id, Match.user_id == user_id)
        return (await self.session.exec(query)).first()

    async def partner_names(self, user_id: int, partner_id: int) -> tuple[str, str] | None:
        """The partner's names at their latest match with the user; None if never matched."""
        query = (
            select(Match.partner_first_name, Match.partner_last_name)
            .where(Match.user_id == user_id, Match.partner_id == partner_id)
            .order_by(col(Match.created_at).desc(), col(Match.id).desc())
            .limit(1)
        )
        found = (await self.session.exec(query)).first()
        return None if found is None else (found[0], found[1])

    async def save_feedback(self, answer: MeetingFeedback) -> None:
        """Insert, or replace an older answer about the same group (by ``answered_at``)."""
        key = ["user_id", "round_id", "group_id"]
        await save_latest(self.session, answer, key, "answered_at")

    async def save_block(self, block: Block) -> None:
        """Insert, or replace an older state of the same block (by ``changed_at``)."""
        await save_latest(self.session, block, ["user_id", "blocked_user_id"], "changed_at")

    async def block(self, user_id: int, blocked_user_id: int) -> Block | None:
        """The user's block of that user, locked, whether in place or lifted."""
        return await self.session.get(Block, (user_id, blocked_user_id), with_for_update=True)

    async def forget(self, user_id: int, deleted_at: datetime) -> None:
        """Everything of a deleted account; its partners' rows name the deleted user."""
        await self.record_deleted(user_id, deleted_at)
        await self.session.exec(delete(Profile).where(col(Profile.user_id) == user_id))
        await self.session.exec(delete(Match).where(col(Match.user_id) == user_id))
        await self.session.exec(
            update(Match)
            .where(col(Match.partner_id) == user_id)
            .values(
                partner_first_name=DELETED_USER["first_name"],
                partner_last_name=DELETED_USER["last_name"],
                partner_email=DELETED_USER["email"],
            )
        )
        await self.session.exec(
            delete(MeetingFeedback).where(col(MeetingFeedback.user_id) == user_id)
        )
        await self.session.exec(
            delete(Block).where(
                or_(col(Block.user_id) == user_id, col(Block.blocked_user_id) == user_id)
            )
        )
