"""Typed events shared by publisher and consumer.

Every event has an id (the idempotency key consumers dedupe on, and JetStream's
``Nats-Msg-Id``) and the time it happened. ``SUBJECT`` is the NATS subject it travels on.
"""

import copy
import functools
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, NamedTuple, cast
from uuid import UUID, uuid4

import pydantic_core
from pydantic import BaseModel, Field

from unimatch_shared import correlation


class Event(BaseModel):
    SUBJECT: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # The id of the request (or scheduled run) that started the chain this event belongs to,
    # inherited along it, so one registration or round can be followed in every service's logs.
    correlation_id: str | None = Field(default_factory=correlation.request_id)

    def encode(self) -> "EncodedEvent":
        return EncodedEvent(self.event_id, self.SUBJECT, self.model_dump_json(), self.occurred_at)

    @classmethod
    def encode_unvalidated(cls, **fields: Any) -> "EncodedEvent":
        """What ``cls(**fields).encode()`` gives, without building and validating the model:
        for events made by the ten thousand (a round's ``pair.created``), where the models
        cost a third of a second per 50,000.

        The model's fields stay the one schema: their order, and the defaults of those left
        out. The values are not checked nor converted, so they must be of the declared types
        already, a nested model given as a dict with its fields in order; the bytes are then
        the model's own (tests/unit/shared/test_encoded_events.py).
        """
        defaults = _defaults(cls)
        if not fields.keys() <= defaults.keys():
            unknown = ", ".join(sorted(fields.keys() - defaults.keys()))
            raise TypeError(f"{cls.__name__} has no field {unknown}")
        values = {}
        for name, default in defaults.items():
            if name in fields:
                values[name] = fields[name]
            elif default is None:
                raise TypeError(f"{cls.__name__} needs {name}")
            else:
                values[name] = default()
        payload = pydantic_core.to_json(values).decode()
        return EncodedEvent(values["event_id"], cls.SUBJECT, payload, values["occurred_at"])


@functools.cache
def _defaults(event: type[Event]) -> dict[str, Callable[[], Any] | None]:
    """An event's fields in order, each with what makes its default (None: required), as
    ``FieldInfo.get_default`` would, but looked up once: it inspects the factory's signature
    on every call (~5 us). No event's factory takes the validated data."""
    makers: dict[str, Callable[[], Any] | None] = {}
    for name, field in event.model_fields.items():
        if field.is_required():
            makers[name] = None
        elif field.default_factory is not None:
            makers[name] = cast(Callable[[], Any], field.default_factory)
        else:
            makers[name] = functools.partial(copy.deepcopy, field.default)
    return makers


class EncodedEvent(NamedTuple):
    """An event as the outbox stores it and the relay publishes it."""

    event_id: UUID
    subject: str
    payload: str  # the event's JSON
    occurred_at: datetime


def new_event_ids(count: int) -> list[UUID]:
    """``count`` random (version 4) event ids from one read of the OS's randomness, for
    events made in bulk: ``uuid4()`` reads it once per id, ~10 us each on our machines."""
    randomness = os.urandom(16 * count)
    return [UUID(bytes=randomness[i : i + 16], version=4) for i in range(0, 16 * count, 16)]


class NewUser(BaseModel):
    """What a sign-up tells profile: sent in the synchronous step, then in the event."""

    user_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    age: int | None = None
    hobby: list[int] = []
    # Given by a web sign-up (docs/api.md, Web surface); additive.
    birth: date | None = None
    tg_link: str = ""


class UserRegistered(Event, NewUser):
    """auth -> profile: the account exists; the profile created during sign-up is confirmed."""

    SUBJECT: ClassVar[str] = "user.registered"


class Hobby(BaseModel):
    id: int
    name: str


class ProfileChanged(Event):
    """profile -> matching: everything matching needs to know about one participant."""

    SUBJECT: ClassVar[str] = "profile.changed"

    user_id: int
    email: str
    first_name: str
    last_name: str
    hobbies: list[Hobby]
    paused: bool = False
    paused_until: date | None = None
    # The channels the user chose for announcements ("telegram", "email"); None: the default,
    # Telegram when linked, else email. Additive: older publishers leave it out.
    channels: list[Literal["telegram", "email"]] | None = None


class GroupMember(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str


class PairCreated(Event):
    """matching -> profile, notifier: one group (a pair or the trio) of a round."""

    SUBJECT: ClassVar[str] = "pair.created"

    round_id: int
    group_id: int
    created_at: datetime
    members: list[GroupMember]
    shared_hobbies: list[str] = []


class TelegramLinked(Event):
    """notifier -> profile: a user's Telegram chat, so profile can show ``chat_id``."""

    SUBJECT: ClassVar[str] = "telegram.linked"

    user_id: int
    chat_id: str
    username: str | None = None


class TelegramUnlinked(Event):
    """notifier -> profile: the chat is gone (unlinked, or the user blocked the bot)."""

    SUBJECT: ClassVar[str] = "telegram.unlinked"

    user_id: int
    chat_id: str


class AccountDeleted(Event):
    """auth -> profile, matching, notifier: the account is gone; every service forgets the
    person (past partners' histories keep a "deleted user" in their place)."""

    SUBJECT: ClassVar[str] = "account.deleted"

    user_id: int


class PasswordResetRequested(Event):
    """auth -> notifier: mail this reset link. It carries the single-use token, which auth
    keeps only hashed: the notifier is the one to put it in a mail."""

    SUBJECT: ClassVar[str] = "password_reset.requested"

    user_id: int
    email: str
    uid: str
    token: str
    expires_at: datetime


class EmailChangeRequested(Event):
    """auth -> notifier: mail a confirmation link to the new address; the change takes effect
    only when it is followed."""

    SUBJECT: ClassVar[str] = "email_change.requested"

    user_id: int
    new_email: str
    token: str
    expires_at: datetime


class AccountEmailChanged(Event):
    """auth -> profile, notifier: the change was confirmed; the account's email is ``email``."""

    SUBJECT: ClassVar[str] = "account.email_changed"

    user_id: int
    email: str


class EmailUnsubscribed(Event):
    """notifier -> profile: the one-click unsubscribe link was followed; email is off."""

    SUBJECT: ClassVar[str] = "email.unsubscribed"

    user_id: int


class MeetingFeedback(Event):
    """profile (REST) or notifier (bot) -> profile, matching, notifier: one member's answer to
    "did you meet?" about one group of a round; a later answer from the same member replaces
    it. The notifier does not ask a member who has answered already."""

    SUBJECT: ClassVar[str] = "meeting.feedback"

    user_id: int
    round_id: int
    group_id: int
    met: Literal["yes", "not_yet", "no"]
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class Block(Event):
    """What both block events are about: ``user_id``'s block on ``blocked_user_id``."""

    user_id: int
    blocked_user_id: int


class PartnerBlocked(Block):
    """profile (REST) or notifier (bot) -> matching, profile: never group ``user_id`` with
    ``blocked_user_id`` again, in either direction. The blocked person is never told."""

    SUBJECT: ClassVar[str] = "block.created"


class PartnerUnblocked(Block):
    """profile (REST) -> matching, profile: the block is lifted."""

    SUBJECT: ClassVar[str] = "block.removed"


class RoundSkipped(Event):
    """matching -> notifier: this participant took part in the round but could not be placed
    in any group without pairing them with someone blocked; tell them so."""

    SUBJECT: ClassVar[str] = "round.skipped"

    round_id: int
    user_id: int


ALL_EVENTS: tuple[type[Event], ...] = (
    UserRegistered,
    ProfileChanged,
    PairCreated,
    TelegramLinked,
    TelegramUnlinked,
    AccountDeleted,
    PasswordResetRequested,
    EmailChangeRequested,
    AccountEmailChanged,
    EmailUnsubscribed,
    MeetingFeedback,
    PartnerBlocked,
    PartnerUnblocked,
    RoundSkipped,
)
EVENTS_BY_SUBJECT: dict[str, type[Event]] = {e.SUBJECT: e for e in ALL_EVENTS}
