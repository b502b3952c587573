"""How services handle NATS messages: durable event consumers with one delivery policy, and
request-reply responders.

An event is acknowledged only after its handler returned (the handler commits its effect and
its inbox row together). What happens to a failed one depends on why it failed:

- an **infrastructure failure** — the database or NATS unreachable, a pool timeout, a peer
  service answering 503 (``is_transient``) — says nothing about the event: it is retried
  without limit, after 0.5 s, 1 s, 2 s ... capped at ``UNIMATCH_EVENT_RETRY_MAX_DELAY_SECONDS``
  (NAK with delay), however long the outage lasts;
- an event that does not parse is dead-lettered at once: no retry can change its bytes;
- any other failure (the handler's own refusal, a bug) is retried the same way until the event
  has been delivered ``UNIMATCH_EVENT_MAX_DELIVERIES`` times, then dead-lettered.

A dead letter goes to the dead-letter stream with the reason, and the events behind it flow
on; ``dead_letters.py`` (``make replay-dead-letters``) puts parked events back after a fix.

While a handler runs, the event's id and correlation id are bound (``correlation.py``), so its
log lines and the events it emits carry them; each outcome is counted (``metrics.py``).
"""

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
import psycopg
import psycopg_pool
import sqlalchemy.exc
from faststream import AckPolicy, BaseMiddleware
from faststream.nats import ConsumerConfig, NatsRouter, PullSub
from faststream.nats.subscriber.usecases import CoreSubscriber, LogicSubscriber
from pydantic import ValidationError

from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import Event
from unimatch_shared.messaging import BindsIds, Messaging
from unimatch_shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_FAILED
from unimatch_shared.rpc import RpcMessage

log = logging.getLogger(__name__)
UoW = TypeVar("UoW")
# A use case applying an event: ``async def apply_x(uow, event: X) -> None``.
UseCase = Callable[[UoW, Any], Awaitable[object]]

# Defaults of UNIMATCH_EVENT_MAX_DELIVERIES and UNIMATCH_EVENT_RETRY_MAX_DELAY_SECONDS.
MAX_DELIVERIES = 10
MAX_RETRY_DELAY_SECONDS = 60.0
FIRST_RETRY_DELAY_SECONDS = 0.5
# Events a consumer handles at once. Each pull fetches one message and hands it to one of these
# workers: nats-py's multi-message fetch raises a bare asyncio.TimeoutError when an idle pull
# expires at its deadline, which FastStream's pull loop does not expect (it catches nats'
# own TimeoutError), so every idle consumer logged an ERROR traceback from the task supervisor.
# The one-message fetch times out with nats' TimeoutError, which the loop treats as "nothing yet".
IN_FLIGHT = 50
PULL_TIMEOUT_SECONDS = 1.0


def retry_delay(deliveries: int, cap: float = MAX_RETRY_DELAY_SECONDS) -> float:
    """0.5 s, 1 s, 2 s, ... capped at ``cap`` (a minute by default)."""
    exponent = min(deliveries - 1, 32)  # 2**32 half-seconds is past any cap; no overflow
    return min(FIRST_RETRY_DELAY_SECONDS * 2.0**exponent, cap)


def dead_letter_horizon(max_deliveries: int, cap: float = MAX_RETRY_DELAY_SECONDS) -> float:
    """How long an event that keeps failing is retried before it is dead-lettered: the sum of
    the delays between its ``max_deliveries`` deliveries (~3 minutes by default). Before
    infrastructure failures were told apart, an outage longer than this parked every event in
    flight."""
    return sum(retry_delay(n, cap) for n in range(1, max_deliveries))


# Failures of the infrastructure under a handler, never of the event: connection refused or
# reset, a pool or statement timeout, a server restarting, NATS unreachable or silent,
# JetStream unavailable, a peer service answering 503.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # asyncio's too
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # the engine's pool
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.FlushTimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.NoServersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
    nats.js.errors.ServiceUnavailableError,
    ServiceUnavailable,
)
# Failures of the event itself: its bytes do not parse into the event. Dead-lettered at once.
UNPARSABLE_ERRORS = (ValidationError, json.JSONDecodeError, UnicodeError)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from or while handling, is an
    infrastructure failure, so the event must be retried however often it has failed. A
    connection invalidated under a statement counts whatever the driver called it; a handler
    that chose ``raise ... from None`` made its own failure the whole story."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TRANSIENT_ERRORS):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if current.__cause__ is not None:
            current = current.__cause__
        else:
            current = None if current.__suppress_context__ else current.__context__
    return False


def _delivery_policy(messaging: Messaging) -> type[BaseMiddleware]:
    class DeliveryPolicy(BindsIds):
        async def on_receive(self) -> None:
            self.subject = self.msg.subject.removeprefix(messaging.prefix)
            await super().on_receive()

        def ids(self) -> tuple[str | None, str | None]:
            return _ids(self.msg.data)

        async def settle(self, exc_val: BaseException | None, exc_tb: TracebackType | None) -> bool:
            message = self.msg
            if exc_val is None:
                await message.ack()
                EVENTS_CONSUMED.labels(self.subject).inc()
                log.info("event %s handled", self.subject)
                return False
            deliveries = message.metadata.num_delivered
            delay = retry_delay(deliveries, messaging.retry_max_delay_seconds)
            if is_transient(exc_val):
                # Never counted toward dead-lettering: the event is fine, the world is not.
                await message.nak(delay=delay)
                EVENTS_FAILED.labels(self.subject).inc()
                log.warning(
                    "event on %s could not be handled for now (%s, delivery %d), retrying in %gs",
                    message.subject,
                    failure_reason(exc_val),
                    deliveries,
                    delay,
                )
            elif isinstance(exc_val, UNPARSABLE_ERRORS) or deliveries >= messaging.max_deliveries:
                reason = failure_reason(exc_val)
                consumer = message.metadata.consumer
                await messaging.dead_letter(message.subject, message.data, reason, consumer)
                await message.term()
                EVENTS_DEAD_LETTERED.labels(self.subject).inc()
                log.error("event on %s dead-lettered: %s", message.subject, reason)
            else:
                await message.nak(delay=delay)
                EVENTS_FAILED.labels(self.subject).inc()
                log.warning(
                    "event on %s failed (delivery %d), retrying",
                    message.subject,
                    deliveries,
                    # What an __aexit__ would get as exc_type with this exception.
                    exc_info=(type(exc_val), exc_val, exc_tb),
                )
            return True

    return DeliveryPolicy


def failure_reason(exc: BaseException) -> str:
    """Why an event could not be handled, for the log and the dead letter's header: where and
    what kind of problem, never the values it carried (a pydantic error's text quotes its
    input — emails, names — and a database error's its parameters). The event itself is in
    the dead-letter stream, its id on every log line."""
    name = type(exc).__name__
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(event)'}: {error['type']}"
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        )
        return f"{name}: {problems}"
    if isinstance(exc, json.JSONDecodeError):
        return f"{name}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeError):
        return f"{name}: {exc.reason}" if isinstance(exc, UnicodeDecodeError) else name
    return name


def _ids(data: bytes) -> tuple[str | None, str | None]:
    """(correlation id, event id) of a raw event; Nones if it does not parse (the handler's
    own parsing then fails, and the policy dead-letters it)."""
    try:
        event = json.loads(data)
        return event.get("correlation_id"), event.get("event_id")
    except (ValueError, AttributeError):
        return None, None


class MessageHandlers:
    """Everything a service handles on NATS, registered one way in every service.

    ``consumer(Event)``: a durable pull consumer named after ``service``, under the delivery
    policy above. ``answer(Request)``: a request-reply responder in the ``service`` queue
    group, so each request is answered by exactly one instance. Include ``router`` in the
    broker.
    """

    def __init__(self, messaging: Messaging, service: str):
        self.messaging = messaging
        self.service = service
        self.router = NatsRouter()
        self._events = NatsRouter(middlewares=[_delivery_policy(messaging)])
        self.router.include_router(self._events)

    def consumer(self, event: type[Event]) -> LogicSubscriber[Any]:
        """Decorator: ``@handlers.consumer(PairCreated) async def handle(e: PairCreated)``."""
        return self._events.subscriber(
            self.messaging.subject(event.SUBJECT),
            stream=self.messaging.stream,
            durable=self.messaging.durable(self.service, event),
            pull_sub=PullSub(batch_size=1, timeout=PULL_TIMEOUT_SECONDS),
            # Deliveries arrive under this service's own inbox prefix (access.py).
            inbox_prefix=f"{self.messaging.inbox_prefix}.".encode(),
            max_workers=IN_FLIGHT,
            # How long JetStream waits for an ack before it redelivers (to a consumer that died).
            config=ConsumerConfig(filter_subjects=[], ack_wait=self.messaging.ack_wait_seconds),
            ack_policy=AckPolicy.MANUAL,
        )

    def use_cases(
        self, unit_of_work: Callable[[], UoW], cases: Mapping[type[Event], UseCase[UoW]]
    ) -> None:
        """A consumer for each event that only hands it to its use case with a new unit of
        work: ``{ProfileChanged: service.apply_profile_change}``."""
        for event, use_case in cases.items():
            self._consume_by(event, unit_of_work, use_case)

    def _consume_by(
        self, event: type[Event], unit_of_work: Callable[[], UoW], use_case: UseCase[UoW]
    ) -> None:
        async def consume(event: Event) -> None:
            await use_case(unit_of_work(), event)

        # What FastStream parses the message as, and names the subscription after (the
        # AsyncAPI document), as for a consumer written out: ``def profile_changed(event:
        # ProfileChanged)``.
        consume.__annotations__["event"] = event
        consume.__name__ = re.sub(r"(?<!^)(?=[A-Z])", "_", event.__name__).lower()
        self.consumer(event)(consume)

    def answer(self, request: RpcMessage) -> CoreSubscriber:
        """Decorator: ``@handlers.answer(NextRound) async def f(r: NextRound) -> Reply``."""
        return self.router.subscriber(self.messaging.subject(request.SUBJECT), queue=self.service)
