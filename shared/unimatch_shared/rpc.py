"""Request-reply messages over core NATS, for the few steps that must answer synchronously.

Everything else travels as events; see docs/adr/001-registration-across-contexts.md and
docs/adr/006-telegram-delivery.md for why these exist.
"""

from datetime import date, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field

from unimatch_shared.events import Hobby, NewUser, TelegramLinked
from unimatch_shared.schemas import TelegramLogin

Reply = TypeVar("Reply", bound=BaseModel)


class Request(BaseModel, Generic[Reply]):
    """A request names its reply type, ``class Ask(Request[AskReply])``, so
    ``Messaging.request(Ask(...))`` is typed; one reply type per meaning."""

    SUBJECT: ClassVar[str]

    @classmethod
    def reply_type(cls) -> type[Reply]:
        for base in cls.__mro__:
            metadata = getattr(base, "__pydantic_generic_metadata__", None)
            if metadata and metadata["origin"] is Request and metadata["args"]:
                reply: type[Reply] = metadata["args"][0]
                return reply
        raise TypeError(f"{cls.__name__} names no reply type")


class Requester(Protocol):
    """Request-reply to other services, as use cases need it: ``Messaging``, or a fake in
    the unit tests."""

    async def request(self, request: Request[Reply]) -> Reply: ...


class ProfileReply(BaseModel):
    """The caller's profile as it is now (``user``, docs/api.md, The user object), or why not
    (``errors``, DRF-shaped): the answer to linking Telegram and to pausing."""

    user: dict[str, Any] | None = None
    errors: dict[str, list[str]] | None = None


class CreateProfileReply(ProfileReply):
    """A ``ProfileReply`` plus ``web_user``, the same user as the web surface shows it."""

    web_user: dict[str, Any] | None = None


class CreateProfile(Request[CreateProfileReply], NewUser):
    """auth -> profile during sign-up: validate the hobbies and store the profile."""

    SUBJECT: ClassVar[str] = "rpc.profile.create"


class ApplyTelegramLink(Request[ProfileReply]):
    """notifier -> profile while linking: apply this event now, so ``GET /users/api/me/`` shows
    ``chat_id`` at once; its later delivery over JetStream is a no-op (same event id).
    Replies ``ProfileReply``, which also parses as the ``CreateProfileReply`` it was before."""

    SUBJECT: ClassVar[str] = "rpc.profile.telegram-link"

    event: TelegramLinked


class SetPause(Request[ProfileReply]):
    """notifier -> profile for the bot's /pause and /resume. Replies ``ProfileReply``."""

    SUBJECT: ClassVar[str] = "rpc.profile.set-pause"

    user_id: int
    paused: bool
    until: date | None = None


class Notice(BaseModel):
    """A fire-and-forget message over core NATS: published, answered by no one."""

    SUBJECT: ClassVar[str]


# What core NATS carries between services: a request, or a notice.
RpcMessage = type[Request[Any]] | type[Notice]


class SessionSeen(Notice):
    """any service -> auth, fire and forget: this session (by token digest) was just used and
    its store entry is getting old; auth renews it (docs/adr/010). No reply."""

    SUBJECT: ClassVar[str] = "rpc.auth.session-seen"

    digest: str


class AccountsExistReply(BaseModel):
    """The requested ids that have an account in auth."""

    existing: list[int]


class AccountsExist(Request[AccountsExistReply]):
    """profile -> auth, from the sweeper of abandoned sign-ups before it deletes: which of
    these accounts exist? A profile whose account exists is confirmed instead (its
    ``user.registered`` was lost or parked); no answer means nothing is deleted."""

    SUBJECT: ClassVar[str] = "rpc.auth.accounts-exist"
    # The sweeper asks in batches of at most this many.
    MAX_USER_IDS: ClassVar[int] = 500

    user_ids: list[int] = Field(max_length=MAX_USER_IDS)


class NextRoundReply(BaseModel):
    """As ``GET /users/api/days-to-match/`` answers (docs/api.md, Time to the next round)."""

    days_left: int
    hours_left: int
    minutes_left: int
    next_match_at: str


class NextRound(Request[NextRoundReply]):
    """notifier -> matching for the bot's /next: when is the next round?"""

    SUBJECT: ClassVar[str] = "rpc.matching.next-round"


class TelegramUserReply(BaseModel):
    """``valid``: signed for our bot and fresh; ``configured`` False when the notifier has no
    bot token to check with; ``errors`` DRF-shaped, if linking was refused."""

    valid: bool
    configured: bool = True
    user_id: int | None = None
    errors: dict[str, list[str]] | None = None


class FindTelegramUser(Request[TelegramUserReply]):
    """auth -> notifier for a web login with the Telegram widget (``/api/tg-auth``): is this
    payload signed by Telegram for our bot, and which user is that Telegram account linked
    to? Replies ``TelegramUserReply``."""

    SUBJECT: ClassVar[str] = "rpc.notifier.telegram-user"

    login: TelegramLogin


class LinkTelegramUser(Request[TelegramUserReply]):
    """auth -> notifier when such a login creates the account (not yet committed, as in
    sign-up): link the Telegram account to it; profile shows it at once. Replies
    ``TelegramUserReply``."""

    SUBJECT: ClassVar[str] = "rpc.notifier.link-telegram-user"

    user_id: int
    login: TelegramLogin


class DeleteAccountReply(BaseModel):
    """``deleted`` False when there was no such account (already gone: not an error)."""

    deleted: bool


class DeleteAccount(Request[DeleteAccountReply]):
    """notifier -> auth for the bot's /leave (confirmed): delete this account. Auth ends its
    sessions and publishes ``account.deleted`` with the deletion, in one transaction; every
    other service forgets the person from that event. Replies ``DeleteAccountReply``."""

    SUBJECT: ClassVar[str] = "rpc.auth.delete-account"

    user_id: int


class EmailChangeReply(BaseModel):
    """``pending_email``: the address awaiting confirmation until ``pending_until`` (when its
    link expires; None: nothing is pending); ``errors`` DRF-shaped, if refused;
    ``retry_after`` seconds, if too many changes were asked for lately."""

    pending_email: str | None = None
    pending_until: datetime | None = None
    errors: dict[str, list[str]] | None = None
    retry_after: int = 0


class RequestEmailChange(Request[EmailChangeReply]):
    """profile -> auth when ``me`` is edited with an email: auth owns the address, and makes
    the confirmation token (publishing ``email_change.requested`` for the notifier to mail
    it); the account's email changes only when the link is followed. Replies
    ``EmailChangeReply``."""

    SUBJECT: ClassVar[str] = "rpc.auth.request-email-change"

    user_id: int
    email: str


class JoinByTelegramReply(BaseModel):
    """``user_id`` of the account (``created`` False: it existed already), or ``errors``
    (DRF-shaped, e.g. ``{"email": [...]}``)."""

    user_id: int | None = None
    created: bool = False
    errors: dict[str, list[str]] | None = None


class JoinByTelegram(Request[JoinByTelegramReply]):
    """notifier -> auth when someone joins in the bot: make a password-less account for this
    Telegram user, its profile and ``user.registered``, as a sign-up does (ADR 001). One
    account per Telegram user: asked again (a retry after a crash), auth answers the account
    it made before, or the one a widget login made. The notifier links the chat on the reply
    (docs/adr/020-telegram-conversations.md). Replies ``JoinByTelegramReply``."""

    SUBJECT: ClassVar[str] = "rpc.auth.join-by-telegram"

    telegram_id: int
    first_name: str = Field(min_length=1, max_length=150)
    last_name: str = Field(default="", max_length=150)
    hobby: list[int] = Field(min_length=1, max_length=100)
    # None: the account gets a placeholder under the reserved ``.invalid`` domain.
    email: str | None = Field(default=None, max_length=254)


class HobbyCatalogReply(BaseModel):
    hobbies: list[Hobby]


class HobbyCatalogRequest(Request[HobbyCatalogReply]):
    """notifier -> profile for the bot's hobby picker: the whole catalog. Replies
    ``HobbyCatalogReply``."""

    SUBJECT: ClassVar[str] = "rpc.profile.hobby-catalog"


class ProfileOf(Request[ProfileReply]):
    """notifier -> profile for the bot's /profile: the user object (docs/api.md, The user
    object, with the pause state). Replies ``ProfileReply``."""

    SUBJECT: ClassVar[str] = "rpc.profile.get"

    user_id: int


class SetHobbies(Request[ProfileReply]):
    """notifier -> profile when hobbies are changed in the bot: the list replaces the old
    one, as ``PATCH /users/api/me`` does. Replies ``ProfileReply``."""

    SUBJECT: ClassVar[str] = "rpc.profile.set-hobbies"

    user_id: int
    hobby: list[int] = Field(min_length=1, max_length=100)
