"""NATS plumbing: the broker, the JetStream stream, subjects and request-reply.

One stream holds every event subject. It is declared here, with the full subject list from
``events.ALL_EVENTS``, by every service at start-up, so no service can narrow it by accident.
Streams and KV buckets are kept in ``UNIMATCH_STREAM_REPLICAS`` copies, applied at start-up
to existing ones too (docs/adr/022-nats-cluster.md).
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import fields
from enum import Enum
from types import TracebackType
from typing import Any, TypeVar

from faststream import BaseMiddleware
from faststream.nats import JStream, NatsBroker
from faststream.nats.security import NatsSecurity
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from unimatch_shared import correlation
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.events import ALL_EVENTS, Event
from unimatch_shared.rpc import Request
from unimatch_shared.settings import EVENT_STREAM_MAX_AGE_DAYS, ServiceSettings

STREAM_BASE_NAME = "UNIMATCH"
# JetStream drops a re-published message with the same Nats-Msg-Id within this window.
DUPLICATE_WINDOW_SECONDS = 24 * 3600
RPC_TIMEOUT_SECONDS = 3.0
# JetStream API requests declaring streams and buckets at start-up: on a cluster they go
# through the meta leader, which every worker of every service asks at once.
DECLARE_TIMEOUT_SECONDS = 20.0
DEAD_LETTER_PREFIX = "deadletter"

Reply = TypeVar("Reply", bound=BaseModel)


def safe_name(prefix: str) -> str:
    """The event prefix as stream and bucket names allow it (fewer characters than subjects)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", prefix)


def durable_name(service: str, event: type[Event]) -> str:
    """A durable consumer name: one per (service, event) pair."""
    return f"{service}-{event.SUBJECT.replace('.', '-')}"


def nats_security(settings: ServiceSettings) -> NatsSecurity | None:
    """TLS towards NATS when the settings ask for it (``NATS_TLS_CA_FILE`` etc., README)."""
    context = settings.nats_tls_context()
    return NatsSecurity(ssl_context=context) if context else None


class Messaging:
    """Names derived from the settings' event prefix, plus the broker built from them."""

    def __init__(self, settings: ServiceSettings, client_name: str, inbox_prefix: str = "_INBOX"):
        self.prefix = settings.unimatch_event_prefix
        self.ack_wait_seconds = settings.unimatch_ack_wait_seconds
        self.max_deliveries = settings.unimatch_event_max_deliveries
        self.retry_max_delay_seconds = settings.unimatch_event_retry_max_delay_seconds
        self.stream_replicas = settings.unimatch_stream_replicas
        self.broker = NatsBroker(
            # Several servers of a cluster: connect to any, fail over to the others.
            settings.nats_servers,
            name=client_name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=5,
            # Through our JSON logging; per-message lines only at DEBUG, errors as errors.
            logger=logging.getLogger("unimatch.messaging"),
            log_level=logging.DEBUG,
            middlewares=[RequestIdFromHeader],
            # Replies to this client arrive under its own prefix, which only its NATS user
            # may subscribe to (access.py).
            inbox_prefix=inbox_prefix,
            security=nats_security(settings),
        )
        self.inbox_prefix = inbox_prefix
        self.safe_prefix = safe_name(self.prefix)
        self.stream = JStream(f"{self.safe_prefix}{STREAM_BASE_NAME}", declare=False)
        self.dead_letter_stream = f"{self.safe_prefix}{STREAM_BASE_NAME}_DEAD_LETTER"
        self._jetstream: JetStreamContext | None = None

    def subject(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def jetstream(self) -> JetStreamContext:
        """One JetStream context per connection, for pipelined publishing: its async
        publishes share one reply subscription, made on first use."""
        connection = self.broker.connection
        if self._jetstream is None or self._jetstream._nc is not connection:
            self._jetstream = connection.jetstream()
        return self._jetstream

    def durable(self, consumer: str, event: type[Event]) -> str:
        """A durable consumer name: one per (service, event) pair."""
        return durable_name(consumer, event)

    def document_publishers(self, events: Sequence[type[Event]]) -> None:
        """Declare what a service emits, so its AsyncAPI document shows it.

        The outbox relay publishes by subject; these declarations only describe it.
        """
        for event in events:
            self.broker.publisher(
                self.subject(event.SUBJECT),
                stream=self.stream,
                schema=event,
                title=f"{event.SUBJECT}:publish",
                description=(event.__doc__ or "").strip(),
            )

    def declaring(self) -> JetStreamContext:
        """A JetStream context for declaring streams and buckets (a patient timeout)."""
        return self.broker.connection.jetstream(timeout=DECLARE_TIMEOUT_SECONDS)

    async def ensure_streams(self) -> None:
        """Create or update the event stream (every known subject) and the dead-letter one."""
        js = self.declaring()
        events = StreamConfig(
            name=self.stream.name,
            subjects=[self.subject(e.SUBJECT) for e in ALL_EVENTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=EVENT_STREAM_MAX_AGE_DAYS * 24 * 3600,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=self.stream_replicas,
        )
        dead_letters = StreamConfig(
            name=self.dead_letter_stream,
            subjects=[self.subject(f"{DEAD_LETTER_PREFIX}.>")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=30 * 24 * 3600,
            num_replicas=self.stream_replicas,
        )
        for name, config in ((self.stream.name, events), (self.dead_letter_stream, dead_letters)):
            try:
                existing = (await js.stream_info(name)).config
            except NotFoundError:
                try:
                    await js.add_stream(config)
                    continue
                except APIError:
                    # Every worker of every service gets here at once on a fresh server; a
                    # loser of that race finds the winner's stream (or fails for real here).
                    existing = (await js.stream_info(name)).config
            if differs(existing, config):
                await update_stream(js, config)

    def kv_config(self, bucket: str, **options: Any) -> KeyValueConfig:
        """A KV bucket's configuration, in as many copies as the streams. Direct gets (any
        replica answers a read) only with one copy: a follower may lag behind a write or a
        delete just acknowledged, so replicated buckets are read through the stream leader
        (docs/adr/010, docs/adr/022-nats-cluster.md)."""
        return KeyValueConfig(
            bucket=bucket,
            replicas=self.stream_replicas,
            direct=self.stream_replicas == 1,
            storage=StorageType.FILE,
            **options,
        )

    async def bucket(
        self, config: KeyValueConfig, timeout: float = RPC_TIMEOUT_SECONDS
    ) -> tuple[KeyValue, bool]:
        """Bind to a KV bucket (its reads and writes time out after ``timeout``), creating it
        if missing; True if this call created it. Every worker of every service does this at
        start-up: a loser of the race to create binds to the winner's bucket (or fails for
        real here). An existing bucket first gets the configured replicas and read mode, so
        the handle bound afterwards reads the way the bucket allows."""
        js = self.declaring()
        stream = f"KV_{config.bucket}"
        created = False
        try:
            existing = (await js.stream_info(stream)).config
        except NotFoundError:
            try:
                await js.create_key_value(config)
                created = True
            except APIError:
                existing = (await js.stream_info(stream)).config
        if not created:
            direct = bool(config.direct)
            if existing.num_replicas != config.replicas or bool(existing.allow_direct) != direct:
                existing.num_replicas, existing.allow_direct = config.replicas, direct
                await update_stream(js, existing)
        handle = await self.broker.connection.jetstream(timeout=timeout).key_value(config.bucket)
        return handle, created

    async def dead_letter(
        self, subject: str, data: bytes, reason: str, consumer: str | None = None
    ) -> None:
        """Park an event that cannot be handled, with why (and which durable consumer gave up
        on it), on ``deadletter.<subject>``; ``dead_letters.py`` re-publishes it after a fix."""
        original = subject.removeprefix(self.prefix)
        headers = {"Unimatch-Reason": reason[:1000], "Unimatch-Subject": original}
        if consumer:
            headers["Unimatch-Consumer"] = consumer
        await self.broker.publish(
            data,
            self.subject(f"{DEAD_LETTER_PREFIX}.{original}"),
            headers=headers,
            stream=self.dead_letter_stream,
            timeout=5,
        )

    async def request(self, request: Request[Reply]) -> Reply:
        """Ask over core NATS; the reply parsed as the request's reply type. A missing or
        silent responder is a 503, never a hang."""
        try:
            message = await self.broker.request(
                request.model_dump(mode="json"),
                self.subject(request.SUBJECT),
                timeout=RPC_TIMEOUT_SECONDS,
                headers=_request_id_header(),
            )
        except (TimeoutError, NoRespondersError, NatsTimeoutError) as exc:
            raise ServiceUnavailable() from exc
        return request.reply_type().model_validate_json(message.body)

    async def is_ready(self) -> bool:
        return await self.broker.ping(timeout=1.0)


def _request_id_header() -> dict[str, str] | None:
    request_id = correlation.request_id()
    return {correlation.NATS_HEADER: request_id} if request_id else None


class BindsIds(BaseMiddleware):
    """A NATS middleware under which the handler runs with the ids ``ids`` reads from the
    message bound (``correlation.py``); the ones before are back once ``settle`` is done."""

    msg: Msg  # what FastStream's NATS subscribers hand their middlewares (typed Any | None)

    def ids(self) -> tuple[str | None, str | None] | None:
        """(request id, event id) to bind, or None to leave the ones in force."""
        raise NotImplementedError

    async def on_receive(self) -> None:
        ids = self.ids()
        self.restore_ids = correlation.bind(*ids) if ids else None

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool:
        try:
            return await self.settle(exc_val, exc_tb)
        finally:
            if self.restore_ids:
                self.restore_ids()

    async def settle(self, exc: BaseException | None, tb: TracebackType | None) -> bool:
        """The rest of the handler's end, given what it raised; True suppresses that."""
        return False


class RequestIdFromHeader(BindsIds):
    """The answering side of ``Messaging.request`` runs with the asking side's request id.

    Events carry theirs in the payload instead (``consumers.py`` binds it)."""

    def ids(self) -> tuple[str | None, str | None] | None:
        request_id = correlation.acceptable((self.msg.headers or {}).get(correlation.NATS_HEADER))
        return (request_id, None) if request_id else None


def differs(existing: StreamConfig, wanted: StreamConfig) -> bool:
    """Whether a stream's configuration lacks something ``wanted`` sets (other than the
    dataclass's defaults, which the server fills in its own way): an update is then due.
    Workers finding it as wanted leave it alone (a cluster's meta leader handles every
    update, one at a time)."""
    return any(
        _plain(getattr(existing, field.name)) != _plain(value)
        for field in fields(wanted)
        if (value := getattr(wanted, field.name)) not in (None, field.default)
    )


def _plain(value: object) -> object:
    """An enum as its value: configurations read back from the server hold plain strings."""
    return value.value if isinstance(value, Enum) else value


async def update_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Apply ``config`` to an existing stream; a refusal (more replicas than the servers
    JetStream runs on) names the setting to look at."""
    try:
        await js.update_stream(config)
    except APIError as exc:
        raise RuntimeError(
            f"NATS refused the configuration of stream {config.name} "
            f"({config.num_replicas} replicas, UNIMATCH_STREAM_REPLICAS): {exc.description}"
        ) from exc
