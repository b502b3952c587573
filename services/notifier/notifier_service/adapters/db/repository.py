"""Queries on the notifier schema, so the service layer reads as use cases."""

from datetime import UTC, datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from notifier_service.adapters.db.tables import (
    ChatLink,
    DeletedAccount,
    LinkCode,
    Member,
    OutgoingMail,
    OutgoingMessage,
    PairView,
    SigningKey,
)
from unimatch_shared.db import TracksDeletedAccounts

# Kinds of mail that tell about matches: sent only to users with email on, unsubscribable.
NOTIFICATION_KINDS = ("announcement", "round_skipped")


class NotifierRepository(TracksDeletedAccounts):
    tombstones = DeletedAccount

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

    async def members_of(self, user_ids: list[int]) -> dict[int, Member]:
        rows = await self.session.exec(select(Member).where(col(Member.user_id).in_(user_ids)))
        return {member.user_id: member for member in rows.all()}

    async def member(self, user_id: int, for_update: bool = False) -> Member | None:
        query = select(Member).where(Member.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def change_member_email(self, user_id: int, email: str, changed_at: datetime) -> None:
        """The account's confirmed new address, unless a newer change is already stored."""
        await self.session.exec(
            update(Member)
            .where(col(Member.user_id) == user_id, col(Member.changed_at) <= changed_at)
            .values(email=email, changed_at=changed_at)
        )

    async def delete_member(self, user_id: int) -> None:
        await self.session.exec(delete(Member).where(col(Member.user_id) == user_id))

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

    # the mail outbox
    async def add_mail(self, mail: OutgoingMail) -> None:
        """Queue a mail unless one with the same idempotency key exists."""
        values = mail.model_dump(exclude={"id"})
        await self.session.exec(insert(OutgoingMail).values(**values).on_conflict_do_nothing())

    async def claim_mail(self) -> OutgoingMail | None:
        """Mark the oldest mail that is due ``sending`` and return it (None if none is due).
        ``SKIP LOCKED``: a claim never waits on another's."""
        due = (
            select(OutgoingMail.id)
            .where(OutgoingMail.status == "pending", OutgoingMail.next_attempt_at <= func.now())
            .order_by(col(OutgoingMail.next_attempt_at), col(OutgoingMail.id))
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.exec(
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == due)
            .values(status="sending")
            .returning(OutgoingMail)
        )
        return result.scalars().first()

    async def release_claims(self) -> int:
        """Claims a stopped sender left behind go back to pending; how many."""
        result = await self.session.exec(
            update(OutgoingMail)
            .where(OutgoingMail.status == "sending")
            .values(status="pending")
            .returning(OutgoingMail.id)
        )
        return len(result.all())

    async def update_mail(self, mail_id: int, **values: object) -> None:
        """Record what became of a claimed mail (only while still claimed)."""
        await self.session.exec(
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == mail_id, OutgoingMail.status == "sending")
            .values(**values)
        )

    async def cancel_mails(self, user_id: int, kinds: tuple[str, ...] | None = None) -> None:
        """Drop the user's mails not yet sent: those of ``kinds``, or all (an account deleted).
        Email turned off cancels ``NOTIFICATION_KINDS``: mails the user asked for (a reset
        link) still go."""
        query = update(OutgoingMail).where(
            col(OutgoingMail.user_id) == user_id, OutgoingMail.status == "pending"
        )
        if kinds is not None:
            query = query.where(col(OutgoingMail.kind).in_(kinds))
        await self.session.exec(query.values(status="cancelled"))

    # keys
    async def signing_key(self, name: str) -> bytes:
        """The key ``name`` (made by the migration that created the table)."""
        query = select(SigningKey.secret).where(SigningKey.name == name)
        return (await self.session.exec(query)).one()
