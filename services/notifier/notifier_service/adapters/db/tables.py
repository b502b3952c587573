"""The notifier schema: chat links, deep-link codes, read models of other services' events,
the outboxes of Telegram messages and of mails, the key signing unsubscribe links, the
bot's conversations, follow-ups and blocks, and the accounts deleted."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text  # a column here is called text
from sqlmodel import Field, SQLModel

from unimatch_shared.channels import Channel
from unimatch_shared.columns import DeletedAccountRow, bigint_key, utc_now


class ChatLink(SQLModel, table=True):
    """A user's Telegram chat: one chat per user and one user per chat."""

    __tablename__ = "chat_link"

    user_id: int = bigint_key()
    chat_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    username: str | None = Field(default=None, max_length=64)
    linked_at: datetime = Field(default_factory=utc_now)


class LinkCode(SQLModel, table=True):
    """A one-time deep-link code; only its SHA-256 is stored."""

    __tablename__ = "link_code"

    code_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: datetime
    used_at: datetime | None = None


class Member(SQLModel, table=True):
    """Read model of ``profile.changed``: enough to find a user by email, and where to tell
    them about matches (the mail recipient)."""

    __tablename__ = "member"

    user_id: int = bigint_key()
    email: str = Field(index=True, max_length=254)
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    # The channels the user chose; None: the default (unimatch_shared.channels).
    channels: list[Channel] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    changed_at: datetime


# A partner whose account was deleted, in ``PairView.partners``.
DELETED_PARTNER: dict = {"id": None, "deleted": True}


class PairView(SQLModel, table=True):
    """Read model of ``pair.created``: one row per member, for /pair and /history."""

    __tablename__ = "pair_view"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    round_id: int = Field(sa_type=BigInteger)
    group_id: int = Field(sa_type=BigInteger)
    created_at: datetime
    # [{"id", "first_name", "last_name", "email", "username"}] of the other members; a member
    # who deleted their account is DELETED_PARTNER (rows made before the bot's block button
    # have no "id")
    partners: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    shared_hobbies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class OutgoingMessage(SQLModel, table=True):
    """The outbox of Telegram messages; ``idempotency_key`` is "<event id>:<chat id>".

    status: pending -> sent (Telegram accepted it) | logged (no bot token) |
    blocked (the user blocked the bot) | failed (Telegram refused it for good) |
    cancelled (the account was deleted before it went).
    """

    __tablename__ = "outgoing_message"
    # What the sender polls: the pending messages, in id order.
    __table_args__ = (
        Index("outgoing_message_pending", "id", postgresql_where=sql_text("status = 'pending'")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    idempotency_key: str = Field(unique=True, max_length=100)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(sa_type=Text)
    # The inline keyboard sent with it, as Telegram's JSON (the block and follow-up buttons).
    reply_markup: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="pending", max_length=16)
    created_at: datetime = Field(default_factory=utc_now)
    sent_at: datetime | None = None


class OutgoingMail(SQLModel, table=True):
    """The outbox of mails, rendered when queued; ``idempotency_key`` is "<event id>:<user id>"
    (or ":<address>" where no user is known), so a redelivered event queues nothing new.

    status: pending -> sending (claimed by the sender) -> sent (the server accepted it) |
    logged (no SMTP_URL) | failed (refused for good, or too many temporary refusals; the
    reason in ``last_error``) | cancelled (email turned off before it went).
    """

    __tablename__ = "outgoing_mail"
    # What the sender polls: pending mails due now, in id order.
    __table_args__ = (
        Index(
            "outgoing_mail_pending",
            "next_attempt_at",
            "id",
            postgresql_where=sql_text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    idempotency_key: str = Field(unique=True, max_length=400)
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # announcement, round_skipped (email channel; unsubscribable) | password_reset, email_change
    kind: str = Field(max_length=32)
    recipient: str = Field(max_length=320)
    display_name: str = Field(default="", max_length=310)
    subject: str = Field(sa_type=Text)
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    # Made when queued, so every attempt carries the same one.
    message_id: str = Field(max_length=200)
    unsubscribe_url: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utc_now)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now)
    sent_at: datetime | None = None


class SigningKey(SQLModel, table=True):
    """Secrets made on first start and kept: ``unsubscribe`` signs unsubscribe links."""

    __tablename__ = "signing_key"

    name: str = Field(primary_key=True, max_length=32)
    secret: bytes


class Conversation(SQLModel, table=True):
    """Where a chat is in a multi-step exchange with the bot (joining, changing hobbies, a
    meeting's comment): one row per chat, changed in one transaction with each step, so an
    exchange survives restarts (docs/adr/020-telegram-conversations.md).

    ``version`` is carried by the buttons of the step shown; a press with another version is
    stale (a double tap, an old message).
    """

    __tablename__ = "conversation"

    chat_id: int = bigint_key()
    state: str = Field(max_length=32)
    draft: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(default_factory=utc_now)


class FollowUp(SQLModel, table=True):
    """ "Did you meet?" for one member of one group, due some time after the round.

    status: scheduled -> asked (queued in the message outbox) | skipped (no Telegram then)
    | answered (the member answered elsewhere first, e.g. on the web);
    ``met`` and ``rating`` hold the answer given so far (a repeated answer publishes nothing).
    """

    __tablename__ = "follow_up"
    __table_args__ = (
        PrimaryKeyConstraint("group_id", "user_id"),
        Index("follow_up_due", "due_at", postgresql_where=sql_text("status = 'scheduled'")),
        Index("follow_up_user", "user_id"),
    )

    group_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    due_at: datetime
    status: str = Field(default="scheduled", max_length=16)
    met: str | None = Field(default=None, max_length=16)
    rating: int | None = None


class BotBlock(SQLModel, table=True):
    """A "never pair me with this person again" pressed in the bot; the row makes a second
    press publish nothing."""

    __tablename__ = "bot_block"
    __table_args__ = (PrimaryKeyConstraint("user_id", "blocked_user_id"),)

    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    blocked_user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utc_now)


class HandledUpdate(SQLModel, table=True):
    """A Telegram update the bot has taken: one delivered again (polling after a crash, a
    webhook retry) is dropped. Rows older than a day are swept."""

    __tablename__ = "handled_update"

    update_id: int = bigint_key()
    handled_at: datetime = Field(default_factory=utc_now, index=True)


class DeletedAccount(DeletedAccountRow, table=True):
    """An account deleted (``account.deleted``, or /leave in the bot): a round's
    ``pair.created`` or a ``profile.changed`` about it that arrives late must not bring the
    person back, nor message them. (Named apart from matching's ``deleted_account``: all
    services' models share SQLModel's metadata in one process, the tests.)"""

    __tablename__ = "deleted_member"
