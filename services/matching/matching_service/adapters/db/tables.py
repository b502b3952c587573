"""The matching schema: the participants read model, rounds and their groups, blocks and
meeting feedback."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from unimatch_shared.columns import BlockRow, DeletedAccountRow, bigint_key, moment


class Participant(SQLModel, table=True):
    """What matching knows of a user, kept from ``ProfileChanged`` events.

    ``changed_at`` is the ``occurred_at`` of the event applied last, so an older event
    arriving late never overwrites a newer one.
    """

    __tablename__ = "participant"

    user_id: int = bigint_key()
    email: str
    first_name: str
    last_name: str
    hobbies: list[dict] = Field(sa_column=Column(JSONB, nullable=False))  # [{"id", "name"}]
    paused: bool = False
    paused_until: date | None = None
    changed_at: datetime = moment()


class MatchRound(SQLModel, table=True):
    """One round. ``slot`` is the scheduled slot it ran for and ``period`` the week holding
    it (both NULL for a manual round); ``period``'s uniqueness is what holds one scheduled
    round a week however many instances are up and whatever the schedule became."""

    __tablename__ = "match_round"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    slot: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), unique=True)
    )
    period: date | None = Field(default=None, sa_column=Column(Date, unique=True))
    started_at: datetime = moment()
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    users: int = 0
    groups: int = 0
    with_common_hobby: int = 0


class MatchGroup(SQLModel, table=True):
    """A pair or the trio; ``shared_hobbies`` are the names its members were told."""

    __tablename__ = "match_group"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    round_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("match_round.id"), nullable=False, index=True)
    )
    is_trio: bool = False
    shared_hobbies: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    group_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("match_group.id"), primary_key=True)
    )
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    round_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("match_round.id"), nullable=False)
    )


class SchedulerState(SQLModel, table=True):
    """One row: ``epoch``, the first time any instance's scheduler started. Slots before it
    are never run, so a new deployment does not hold a round for last week."""

    __tablename__ = "scheduler_state"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    epoch: datetime = moment()


class Block(BlockRow, table=True):
    """A block keeps both people apart, whichever made it (``BlockRow``)."""

    __tablename__ = "block"


class MeetingFeedback(SQLModel, table=True):
    """A member's latest answer to "did you meet?" about their group, for the round's stats
    (the comment stays with profile). ``answered_at`` is the answer event's ``occurred_at``."""

    __tablename__ = "meeting_feedback"

    user_id: int = bigint_key()
    round_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("match_round.id"), primary_key=True, index=True)
    )
    group_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("match_group.id"), primary_key=True)
    )
    met: str = Field(sa_column=Column(Text, nullable=False))
    rating: int | None = Field(default=None, sa_column=Column(SmallInteger))
    answered_at: datetime = moment()


class DeletedAccount(DeletedAccountRow, table=True):
    """An account deleted (``account.deleted``): a ``profile.changed`` or block about it that
    arrives late must not bring the person back."""

    __tablename__ = "deleted_account"
