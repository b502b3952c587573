"""The profile schema: the hobby catalog, profiles, their hobbies and match history, answers
about meetings, blocks and deleted accounts."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Identity,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from unimatch_shared.channels import Channel
from unimatch_shared.columns import (
    BlockRow,
    DeletedAccountRow,
    bigint_key,
    moment,
    owned_by,
    utc_now,
)


class Hobby(SQLModel, table=True):
    __tablename__ = "hobby"

    id: int = Field(primary_key=True)
    name: str = Field(unique=True, max_length=100)


class Profile(SQLModel, table=True):
    """``confirmed`` turns true when auth's ``user.registered`` arrives (ADR 001)."""

    __tablename__ = "profile"

    user_id: int = bigint_key()
    email: str = Field(max_length=254)
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    age: int | None = None
    birth: date | None = None
    tg_link: str = Field(default="", max_length=32)
    chat_id: str | None = Field(default=None, max_length=32)
    telegram_username: str | None = Field(default=None, max_length=64)
    # ``occurred_at`` of the last telegram.linked/unlinked applied: an older one is stale.
    telegram_changed_at: datetime | None = None
    paused: bool = False
    paused_until: date | None = None
    # Where the user hears about matches ("telegram", "email"); None: never chosen, the
    # default (unimatch_shared.channels).
    channels: list[Channel] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    confirmed: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    # A new email awaiting confirmation by auth until its link expires
    # (docs/adr/016-password-reset.md); ``email`` changes when account.email_changed
    # arrives, whose ``occurred_at`` is kept: an older one is stale.
    pending_email: str | None = Field(default=None, max_length=254)
    pending_email_until: datetime | None = None
    email_changed_at: datetime | None = None


class ProfileHobby(SQLModel, table=True):
    __tablename__ = "profile_hobby"

    user_id: int = owned_by("profile.user_id", primary_key=True, autoincrement=False)
    hobby_id: int = Field(primary_key=True, foreign_key="hobby.id")


class Match(SQLModel, table=True):
    """One row per (user, partner) of a group, as the history endpoint lists them."""

    __tablename__ = "match"
    __table_args__ = (UniqueConstraint("group_id", "user_id", "partner_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    partner_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    partner_first_name: str = Field(max_length=150)
    partner_last_name: str = Field(max_length=150)
    partner_email: str = Field(max_length=254)
    round_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    group_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    shared_hobbies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime


# Table names differ from matching's twins: every service's models share SQLModel's metadata
# when they are imported in one process (the tests do).


class MeetingFeedback(SQLModel, table=True):
    """A member's latest answer to "did you meet?" about one group: shown as ``feedback`` in
    each of their rows of that group. ``answered_at`` is the answer event's ``occurred_at``:
    an older answer arriving late never replaces a newer one."""

    __tablename__ = "meeting_answer"

    user_id: int = bigint_key()
    round_id: int = bigint_key()
    group_id: int = bigint_key()
    met: str = Field(sa_column=Column(Text, nullable=False))
    rating: int | None = Field(default=None, sa_column=Column(SmallInteger))
    comment: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: datetime = moment()


class Block(BlockRow, table=True):
    """The blocks members made and lifted, as profile lists them (``BlockRow``)."""

    __tablename__ = "partner_block"


class DeletedAccount(DeletedAccountRow, table=True):
    """An account deleted (``account.deleted``): events about it that arrive late (a round's
    ``pair.created``, a sign-up's ``user.registered``) must not bring the person back."""

    __tablename__ = "deleted_profile"
