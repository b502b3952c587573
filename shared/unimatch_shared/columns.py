"""Column kinds the services' tables share, as SQLModel fields, and the rows several services
keep of the same events (each service in a table of its own: subclass with ``table=True``)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    """When a row is made (a ``default_factory``)."""
    return datetime.now(UTC)


def bigint_key(index: bool = False) -> Any:
    """A bigint primary key whose values come from elsewhere (a user's id, an update's): no
    sequence of its own."""
    return Field(
        sa_type=BigInteger, primary_key=True, index=index, sa_column_kwargs={"autoincrement": False}
    )


def moment() -> Any:
    """A required time with its zone: when something happened."""
    return Field(sa_type=DateTime(timezone=True))


def owned_by(key: str, **column: Any) -> Any:
    """A bigint reference to ``key`` (``"table.column"``) whose row goes with the row it
    references. Its column is made here: not for the classes below, which several tables
    share."""
    return Field(sa_column=Column(BigInteger, ForeignKey(key, ondelete="CASCADE"), **column))


class BlockRow(SQLModel):
    """``user_id`` never wants to be grouped with ``blocked_user_id`` again. A lifted block
    stays with ``blocked`` false, so a block and its lifting apply in any arrival order
    (``changed_at``: the ``occurred_at`` of the event applied last)."""

    user_id: int = bigint_key()
    blocked_user_id: int = bigint_key(index=True)
    blocked: bool
    changed_at: datetime = moment()


class DeletedAccountRow(SQLModel):
    """An account deleted (``account.deleted``): events about it that arrive late must not
    bring the person back."""

    user_id: int = bigint_key()
    deleted_at: datetime = moment()
