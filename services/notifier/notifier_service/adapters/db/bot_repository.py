"""Queries for the bot's conversations, meeting follow-ups and blocks, and for forgetting a
deleted account."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from notifier_service.adapters.db.tables import (
    DELETED_PARTNER,
    BotBlock,
    ChatLink,
    Conversation,
    DeletedAccount,
    FollowUp,
    HandledUpdate,
    Member,
    OutgoingMessage,
    PairView,
)
from unimatch_shared.db import TracksDeletedAccounts


class BotRepository(TracksDeletedAccounts):
    tombstones = DeletedAccount

    # updates
    async def take_update(self, update_id: int, keep: timedelta) -> bool:
        """Record the update as handled; False if it was already. Sweeps old records now and
        then (every thousandth update)."""
        now = datetime.now(UTC)
        if update_id % 1000 == 0:
            await self.session.exec(
                delete(HandledUpdate).where(col(HandledUpdate.handled_at) < now - keep)
            )
        result = await self.session.exec(
            insert(HandledUpdate)
            .values(update_id=update_id, handled_at=now)
            .on_conflict_do_nothing()
            .returning(HandledUpdate.update_id)
        )
        return result.first() is not None

    # conversations
    async def conversation(self, chat_id: int) -> Conversation | None:
        """The chat's conversation, locked until the step's transaction ends."""
        query = select(Conversation).where(Conversation.chat_id == chat_id).with_for_update()
        return (await self.session.exec(query)).first()

    async def save_conversation(self, conversation: Conversation) -> None:
        conversation.updated_at = datetime.now(UTC)
        self.session.add(conversation)

    async def end_conversation(self, chat_id: int) -> None:
        await self.session.exec(delete(Conversation).where(col(Conversation.chat_id) == chat_id))

    # follow-ups
    async def schedule_follow_up(self, follow_up: FollowUp) -> None:
        values = follow_up.model_dump()
        await self.session.exec(insert(FollowUp).values(**values).on_conflict_do_nothing())

    async def record_answer(self, answer: FollowUp) -> None:
        """Keep an answer given elsewhere: a new answered follow-up, or a scheduled one marked
        answered; one already asked keeps its state. One statement, so a match being recorded
        at the same moment cannot slip a scheduled row in between a read and an insert."""
        values = answer.model_dump()
        statement = insert(FollowUp).values(**values)
        await self.session.exec(
            statement.on_conflict_do_update(
                index_elements=[FollowUp.group_id, FollowUp.user_id],
                set_={
                    "status": statement.excluded.status,
                    "met": statement.excluded.met,
                    "rating": statement.excluded.rating,
                },
                where=col(FollowUp.status) == "scheduled",
            )
        )

    async def due_follow_ups(self, now: datetime, limit: int) -> list[FollowUp]:
        """Scheduled follow-ups due by ``now``, locked; another transaction skips them."""
        query = (
            select(FollowUp)
            .where(FollowUp.status == "scheduled", col(FollowUp.due_at) <= now)
            .order_by(col(FollowUp.due_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.exec(query)).all())

    async def follow_up(self, group_id: int, user_id: int) -> FollowUp | None:
        query = (
            select(FollowUp)
            .where(FollowUp.group_id == group_id, FollowUp.user_id == user_id)
            .with_for_update()
        )
        return (await self.session.exec(query)).first()

    async def latest_match(self, user_id: int) -> PairView | None:
        query = (
            select(PairView)
            .where(PairView.user_id == user_id)
            .order_by(col(PairView.created_at).desc(), col(PairView.id).desc())
            .limit(1)
        )
        return (await self.session.exec(query)).first()

    async def match(self, user_id: int, group_id: int) -> PairView | None:
        query = select(PairView).where(PairView.user_id == user_id, PairView.group_id == group_id)
        return (await self.session.exec(query)).first()

    # blocks
    async def add_block(self, user_id: int, blocked_user_id: int) -> bool:
        """Record the block; False if it was recorded already."""
        result = await self.session.exec(
            insert(BotBlock)
            .values(user_id=user_id, blocked_user_id=blocked_user_id, created_at=datetime.now(UTC))
            .on_conflict_do_nothing()
            .returning(BotBlock.user_id)
        )
        return result.first() is not None

    # a deleted account
    async def forget(self, user_id: int, deleted_at: datetime) -> None:
        """Everything the notifier holds about the user; in the other members' histories the
        user becomes a "deleted user"; the account is recorded as deleted."""
        session = self.session
        await self.record_deleted(user_id, deleted_at)
        groups = select(PairView.group_id).where(PairView.user_id == user_id)
        others = await session.exec(
            select(PairView)
            .where(col(PairView.group_id).in_(groups), PairView.user_id != user_id)
            .with_for_update()
        )
        for row in others.all():
            row.partners = [
                DELETED_PARTNER if partner.get("id") == user_id else partner
                for partner in row.partners
            ]
            session.add(row)
        link = (await session.exec(select(ChatLink).where(ChatLink.user_id == user_id))).first()
        if link is not None:
            await session.exec(
                delete(Conversation).where(col(Conversation.chat_id) == link.chat_id)
            )
            await session.delete(link)
        await session.exec(
            update(OutgoingMessage)
            .where(col(OutgoingMessage.user_id) == user_id, OutgoingMessage.status == "pending")
            .values(status="cancelled")
        )
        for table in (PairView, FollowUp, BotBlock, Member):
            await session.exec(delete(table).where(col(table.user_id) == user_id))
