"""Who may say what on NATS: the one table every service's NATS permissions come from
(docs/adr/018-service-credentials.md).

``EVENT_ROUTES`` names, for every event, the services that publish it and those that consume
it; ``RPC_ROUTES``, for every request, the services that ask and the one that answers;
``BUCKET_WRITERS``, for every KV bucket, the one service that writes it. A new event, request
or bucket is one line here. ``nats_permissions`` turns the table into a service's
publish/subscribe allow-lists (the NATS subjects, plus the JetStream API subjects its streams,
durable consumers and KV buckets need); ``unimatch_stack.credentials`` writes them into
nats-server's configuration for ``make run``, the tests and compose.
"""

from dataclasses import dataclass

from unimatch_shared.access_tokens import BUCKET_BASE_NAME as SIGNING_KEYS_BUCKET
from unimatch_shared.events import (
    ALL_EVENTS,
    AccountDeleted,
    AccountEmailChanged,
    EmailChangeRequested,
    EmailUnsubscribed,
    Event,
    MeetingFeedback,
    PairCreated,
    PartnerBlocked,
    PartnerUnblocked,
    PasswordResetRequested,
    ProfileChanged,
    RoundSkipped,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.messaging import (
    DEAD_LETTER_PREFIX,
    STREAM_BASE_NAME,
    durable_name,
    safe_name,
)
from unimatch_shared.rpc import (
    AccountsExist,
    ApplyTelegramLink,
    CreateProfile,
    DeleteAccount,
    FindTelegramUser,
    HobbyCatalogRequest,
    JoinByTelegram,
    LinkTelegramUser,
    NextRound,
    Notice,
    ProfileOf,
    Request,
    RequestEmailChange,
    RpcMessage,
    SessionSeen,
    SetHobbies,
    SetPause,
)
from unimatch_shared.sessions import BUCKET_BASE_NAME as SESSIONS_BUCKET

AUTH, PROFILE, MATCHING, NOTIFIER = "auth", "profile", "matching", "notifier"
SERVICES = (AUTH, PROFILE, MATCHING, NOTIFIER)
# The default inbox prefix, which no service uses: each has its own (``inbox_prefix``), so
# no service can subscribe to the replies another is waiting for.
DEFAULT_INBOX_PREFIX = "_INBOX"


@dataclass(frozen=True)
class Route:
    """``senders`` publish (events) or ask (requests); ``receivers`` consume or answer."""

    senders: tuple[str, ...]
    receivers: tuple[str, ...]


EVENT_ROUTES: dict[type[Event], Route] = {
    UserRegistered: Route((AUTH,), (PROFILE,)),
    ProfileChanged: Route((PROFILE,), (MATCHING, NOTIFIER)),
    PairCreated: Route((MATCHING,), (PROFILE, NOTIFIER)),
    TelegramLinked: Route((NOTIFIER,), (PROFILE,)),
    TelegramUnlinked: Route((NOTIFIER,), (PROFILE,)),
    AccountDeleted: Route((AUTH,), (PROFILE, MATCHING, NOTIFIER)),
    PasswordResetRequested: Route((AUTH,), (NOTIFIER,)),
    EmailChangeRequested: Route((AUTH,), (NOTIFIER,)),
    AccountEmailChanged: Route((AUTH,), (PROFILE, NOTIFIER)),
    EmailUnsubscribed: Route((NOTIFIER,), (PROFILE,)),
    MeetingFeedback: Route((PROFILE, NOTIFIER), (PROFILE, MATCHING, NOTIFIER)),
    PartnerBlocked: Route((PROFILE, NOTIFIER), (MATCHING, PROFILE)),
    PartnerUnblocked: Route((PROFILE,), (MATCHING, PROFILE)),
    RoundSkipped: Route((MATCHING,), (NOTIFIER,)),
}

RPC_ROUTES: dict[RpcMessage, Route] = {
    CreateProfile: Route((AUTH,), (PROFILE,)),
    ApplyTelegramLink: Route((NOTIFIER,), (PROFILE,)),
    SetPause: Route((NOTIFIER,), (PROFILE,)),
    SessionSeen: Route(SERVICES, (AUTH,)),
    AccountsExist: Route((PROFILE,), (AUTH,)),
    NextRound: Route((NOTIFIER,), (MATCHING,)),
    FindTelegramUser: Route((AUTH,), (NOTIFIER,)),
    LinkTelegramUser: Route((AUTH,), (NOTIFIER,)),
    DeleteAccount: Route((NOTIFIER,), (AUTH,)),
    RequestEmailChange: Route((PROFILE,), (AUTH,)),
    JoinByTelegram: Route((NOTIFIER,), (AUTH,)),
    HobbyCatalogRequest: Route((NOTIFIER,), (PROFILE,)),
    ProfileOf: Route((NOTIFIER,), (PROFILE,)),
    SetHobbies: Route((NOTIFIER,), (PROFILE,)),
}

# Each KV bucket and the one service that writes it; every service may read (and create) it.
# A new bucket is one line here.
BUCKET_WRITERS = {SESSIONS_BUCKET: AUTH, SIGNING_KEYS_BUCKET: AUTH}


def inbox_prefix(service: str) -> str:
    """Where ``service``'s replies (requests, JetStream API, pull deliveries) arrive."""
    return f"{DEFAULT_INBOX_PREFIX}_{service}"


def publishes(service: str) -> list[type[Event]]:
    return [event for event, route in EVENT_ROUTES.items() if service in route.senders]


def consumes(service: str) -> list[type[Event]]:
    return [event for event, route in EVENT_ROUTES.items() if service in route.receivers]


def asks(service: str) -> list[RpcMessage]:
    return [request for request, route in RPC_ROUTES.items() if service in route.senders]


def answers(service: str) -> list[RpcMessage]:
    return [request for request, route in RPC_ROUTES.items() if service in route.receivers]


@dataclass(frozen=True)
class Permissions:
    """A NATS user's allow-lists; anything else is denied. Replies to requests it received
    are allowed besides (nats-server's ``allow_responses``)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def nats_permissions(service: str, prefix: str = "") -> Permissions:
    """What ``service`` may publish and subscribe to, with subjects, stream and bucket names
    under the event ``prefix`` (``UNIMATCH_EVENT_PREFIX``)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    api = "$JS.API"
    stream = f"{safe_name(prefix)}{STREAM_BASE_NAME}"
    dead_letters = f"{stream}_DEAD_LETTER"
    publish = [f"{api}.INFO"]
    # Every service declares the streams and buckets at start-up (messaging.py), whichever
    # starts first; only the event streams' configuration is re-applied by all.
    for name in (stream, dead_letters):
        publish += [f"{api}.STREAM.INFO.{name}", f"{api}.STREAM.CREATE.{name}"]
        publish.append(f"{api}.STREAM.UPDATE.{name}")
    for bucket, writer in BUCKET_WRITERS.items():
        kv = f"KV_{safe_name(prefix)}{bucket}"
        # Every service reads a bucket: a get (direct or not) or a watch (ordered consumer).
        publish += [
            f"{api}.STREAM.INFO.{kv}",
            f"{api}.STREAM.CREATE.{kv}",
            f"{api}.DIRECT.GET.{kv}.>",
            f"{api}.STREAM.MSG.GET.{kv}",
            f"{api}.CONSUMER.CREATE.{kv}",
            f"{api}.CONSUMER.CREATE.{kv}.>",
            f"{api}.CONSUMER.INFO.{kv}.*",
            f"{api}.CONSUMER.DELETE.{kv}.*",
            f"$JS.FC.{kv}.>",
        ]
        if writer == service:
            publish += [f"$KV.{safe_name(prefix)}{bucket}.>", f"{api}.STREAM.UPDATE.{kv}"]
    for event in publishes(service):
        publish.append(f"{prefix}{event.SUBJECT}")
    for event in consumes(service):
        subject = f"{prefix}{event.SUBJECT}"
        durable = durable_name(service, event)
        publish += [
            f"{api}.CONSUMER.INFO.{stream}.{durable}",
            # Only with its own filter in the subject: no durable of another event's subject.
            f"{api}.CONSUMER.CREATE.{stream}.{durable}.{subject}",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
            f"{prefix}{DEAD_LETTER_PREFIX}.{event.SUBJECT}",
        ]
    for request in asks(service):
        publish.append(f"{prefix}{request.SUBJECT}")
    subscribe = [f"{inbox_prefix(service)}.>"]
    subscribe += [f"{prefix}{request.SUBJECT}" for request in answers(service)]
    return Permissions(tuple(dict.fromkeys(publish)), tuple(subscribe))


def unrouted() -> list[str]:
    """Events or requests the table forgets (a test keeps this empty)."""
    missing = [e.SUBJECT for e in ALL_EVENTS if e not in EVENT_ROUTES]
    missing += [r.SUBJECT for r in _all_requests() if r not in RPC_ROUTES]
    return missing


def _all_requests() -> list[RpcMessage]:
    """Every request and notice ``rpc.py`` defines (where they all live)."""
    found: list[RpcMessage] = []
    pending: list[RpcMessage] = [*Request.__subclasses__(), *Notice.__subclasses__()]
    while pending:
        request = pending.pop()
        if hasattr(request, "SUBJECT") and request.__module__ == Request.__module__:
            found.append(request)
        pending += request.__subclasses__()
    return found
