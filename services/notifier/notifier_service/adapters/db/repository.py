"""Queries on the notifier schema, so the service layer reads as use cases."""

from datetime import UTC, datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifier_service.adapters.db.tables import (
    ChatLink,
    LinkCode,
    Member,
    OutgoingMessage,
    PairView,
)


class NotifierRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # chat links
    async def links_of(self, user_ids: list[int]) -> dict[int, ChatLink]:
        rows = await self.session.exec(select(ChatLink).where(col(ChatLink.user_id).in_(user_ids)))
        return {link.user_id: link for link in rows.all()}

    async def link_by_chat(self, chat_id: int) -> ChatLink | None:
        query = select(ChatLink).where(ChatLink.chat_id == chat_id).with_for_update()
        return (await self.session.exec(query)).first()

    async def upsert_link(self, user_id: int, chat_id: int, username: str | None) -> None:
        """Link (or re-link) the user; raises IntegrityError if the chat is someone else's."""
        values = {"chat_id": chat_id, "username": username, "linked_at": datetime.now(UTC)}
        await self.session.exec(
            insert(ChatLink)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )

    async def delete_link(self, chat_id: int) -> ChatLink | None:
        link = await self.link_by_chat(chat_id)
        if link is not None:
            await self.session.delete(link)
        return link

    # deep-link codes
    async def add_code(self, code: LinkCode) -> None:
        """Store a new code, sweeping expired ones so the table stays small."""
        await self.session.exec(delete(LinkCode).where(col(LinkCode.expires_at) < func.now()))
        self.session.add(code)

    async def claim_code(self, code_hash: str) -> int | None:
        """Mark an unused, unexpired code used; its user, or None."""
        now = datetime.now(UTC)
        result = await self.session.exec(
            update(LinkCode)
            .where(
                col(LinkCode.code_hash) == code_hash,
                col(LinkCode.used_at).is_(None),
                col(LinkCode.expires_at) > now,
            )
            .values(used_at=now)
            .returning(LinkCode.user_id)
        )
        return result.scalar_one_or_none()

    # members (read model of profile.changed)
    async def user_id_by_email(self, email: str) -> int | None:
        query = select(Member.user_id).where(func.lower(Member.email) == email.strip().lower())
        return (await self.session.exec(query)).first()

    async def upsert_member(self, member: Member) -> None:
        """Store the member unless a newer change is already stored."""
        values = member.model_dump()
        await self.session.exec(
            insert(Member)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["user_id"],
                set_=values,
                where=col(Member.changed_at) <= member.changed_at,
            )
        )

    # matches (read model of pair.created)
    async def add_match(self, match: PairView) -> None:
        values = match.model_dump(exclude={"id"})
        await self.session.exec(insert(PairView).values(**values).on_conflict_do_nothing())

    async def matches_of(self, user_id: int, limit: int) -> list[PairView]:
        query = (
            select(PairView)
            .where(PairView.user_id == user_id)
            .order_by(col(PairView.created_at).desc(), col(PairView.id).desc())
            .limit(limit)
        )
        return list((await self.session.exec(query)).all())

    # the message outbox
    async def add_message(self, message: OutgoingMessage) -> None:
        """Queue a message unless one with the same idempotency key exists."""
        values = message.model_dump(exclude={"id"})
        await self.session.exec(insert(OutgoingMessage).values(**values).on_conflict_do_nothing())

    async def pending_messages(self, limit: int) -> list[OutgoingMessage]:
        query = (
            select(OutgoingMessage)
            .where(OutgoingMessage.status == "pending")
            .order_by(col(OutgoingMessage.id))
            .limit(limit)
        )
        return list((await self.session.exec(query)).all())

    async def set_status(self, message_id: int, status: str) -> None:
        await self.session.exec(
            update(OutgoingMessage)
            .where(col(OutgoingMessage.id) == message_id)
            .values(status=status, sent_at=datetime.now(UTC))
        )

    async def drop_pending_for_chat(self, chat_id: int) -> None:
        """A blocked chat gets nothing more; its queued messages are marked so."""
        await self.session.exec(
            update(OutgoingMessage)
            .where(col(OutgoingMessage.chat_id) == chat_id, OutgoingMessage.status == "pending")
            .values(status="blocked")
        )
