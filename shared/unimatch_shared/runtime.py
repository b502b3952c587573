"""What every service has at run time, and the FastAPI app wrapped around it.

A service builds a ``ServiceRuntime`` (database, broker, outbox relay), registers its
subscribers on ``runtime.messaging.broker``, and hands both to ``create_service_app``.
"""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Generic

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from typing_extensions import TypeVar

from unimatch_shared import metrics
from unimatch_shared.access import inbox_prefix
from unimatch_shared.access_tokens import PublicKeys
from unimatch_shared.auth import TokenVerifier
from unimatch_shared.consumers import failure_reason, is_transient
from unimatch_shared.db import (
    make_engine,
    make_read_pool,
    make_session_factory,
    migrations_of,
    run_migrations,
)
from unimatch_shared.errors import install_error_handlers
from unimatch_shared.events import Event
from unimatch_shared.http import BodySizeLimit, RequestContext, TrailingSlashInsensitive
from unimatch_shared.logs import configure_logging
from unimatch_shared.messaging import Messaging
from unimatch_shared.openapi import document_errors
from unimatch_shared.outbox import OutboxRelay
from unimatch_shared.retention import retention_job
from unimatch_shared.sessions import SessionStore
from unimatch_shared.settings import ServiceSettings
from unimatch_shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
# A long-lived coroutine function, run as a task while the service runs.
BackgroundLoop = Callable[[], Coroutine[Any, Any, None]]
# The service's unit of work: the shared one, or its subclass carrying the repositories.
UoW = TypeVar("UoW", bound=UnitOfWork, default=UnitOfWork)
UnitOfWorkClass = Callable[[async_sessionmaker[AsyncSession], OutboxRelay], UoW]
# Waits between start-up attempts after a transient failure: 0.5 s, 1 s, 2 s ... 30 s.
FIRST_START_RETRY_SECONDS = 0.5
MAX_START_RETRY_SECONDS = 30.0


class ServiceRuntime(Generic[UoW]):
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        emits: Sequence[type[Event]] = (),
        read_pool: bool = False,
        unit_of_work: UnitOfWorkClass[UoW] = UnitOfWork,  # type: ignore[assignment]
    ):
        self.name = name
        self.settings = settings
        self.migrations_dir = migrations_of(name)
        self.engine = make_engine(settings, schema=name)
        self.sessions = make_session_factory(self.engine)
        # Raw SQL for the hot read paths (views), in autocommit: one round trip a query.
        self.reads = make_read_pool(settings, schema=name) if read_pool else None
        self.messaging = Messaging(
            settings, client_name=f"unimatch-{name}", inbox_prefix=inbox_prefix(name)
        )
        self.messaging.broker.add_middleware(metrics.broker_metrics(f"unimatch-{name}"))
        self.live_sessions = SessionStore(self.messaging, settings.session_idle_seconds)
        # True when this start created the session bucket (auth then refills it).
        self.live_sessions_created = False
        # The keys that web access tokens are checked against (docs/adr/015).
        self.access_keys = PublicKeys(self.messaging)
        self.relay = OutboxRelay(self.sessions, self.messaging)
        self._unit_of_work = unit_of_work
        self.messaging.document_publishers(emits)
        self.on_start: list[Hook] = []
        self.on_stop: list[Hook] = []
        self._background: dict[str, BackgroundLoop] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.run_in_background(
            "retention",
            retention_job(
                self.engine,
                outbox_age=timedelta(days=settings.unimatch_outbox_retention_days),
                inbox_age=timedelta(days=settings.unimatch_inbox_retention_days),
                interval_seconds=settings.unimatch_retention_interval_seconds,
            ),
        )

    def run_in_background(self, name: str, loop: BackgroundLoop) -> None:
        """Run ``loop`` (a long-lived coroutine function) while the service runs."""
        self._background[name] = loop

    def unit_of_work(self) -> UoW:
        return self._unit_of_work(self.sessions, self.relay)

    async def start(self) -> None:
        await self._until_done("migrations", self._migrate)
        await self._until_done("NATS", self._start_messaging, undo=self._stop_messaging)
        if self.reads:
            await self.reads.open()
        self.relay.start()
        for hook in self.on_start:
            await hook()
        for name, loop in self._background.items():
            self._tasks.append(asyncio.create_task(loop(), name=name))
        # Everything made so far (modules, app, pools) lives as long as the process: moved
        # out of the collector's sight, a full collection under load scans only what
        # requests made since, which keeps it out of the latency tail (docs/benchmarks.md).
        gc.freeze()
        log.info("%s service started", self.name)

    async def _migrate(self) -> None:
        await asyncio.to_thread(run_migrations, self.settings, self.name, self.migrations_dir)

    async def _start_messaging(self) -> None:
        broker = self.messaging.broker
        await broker.connect()
        await self.messaging.ensure_streams()
        self.live_sessions_created |= await self.live_sessions.open()
        await self.access_keys.open()
        await broker.start()

    async def _stop_messaging(self) -> None:
        await self.access_keys.close()
        await self.messaging.broker.stop()  # its subscribers, then the connection

    async def _until_done(self, what: str, step: Hook, undo: Hook | None = None) -> None:
        """Run a start-up step until it succeeds, waiting out transient failures (NATS or
        PostgreSQL not there yet, a JetStream request timing out on a busy cluster): under
        uvicorn's workers, one worker failing to start stops the whole service (ADR 011).
        ``undo`` clears a half-done attempt first. Any other failure stops the start."""
        delay = FIRST_START_RETRY_SECONDS
        while True:
            try:
                return await step()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning(
                    "%s service: %s not available (%s), trying again in %gs",
                    self.name,
                    what,
                    failure_reason(exc),
                    delay,
                )
            if undo:
                try:
                    await undo()
                except Exception as exc:  # a connection that broke cannot drain; it is gone
                    log.debug("clearing a failed start: %s", exc.__class__.__name__)
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_START_RETRY_SECONDS)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for hook in reversed(self.on_stop):
            await hook()
        await self.relay.stop()
        await self.access_keys.close()
        await self.messaging.broker.stop()
        if self.reads:
            await self.reads.close()
        await self.engine.dispose()

    async def is_ready(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), 2)
        except Exception:
            return False
        return await self.messaging.is_ready()


def unit_of_work(request: Request) -> Any:
    """FastAPI dependency: a new unit of work of the app's runtime. A service types it with
    its own, ``Annotated[ProfileUnitOfWork, Depends(unit_of_work)]``."""
    return request.app.state.runtime.unit_of_work()


def from_runtime(attribute: str) -> Callable[[Request], Any]:
    """A FastAPI dependency: this attribute of the app's runtime, which the service types,
    ``Annotated[Messaging, Depends(from_runtime("messaging"))]``."""

    def dependency(request: Request) -> Any:
        return getattr(request.app.state.runtime, attribute)

    return dependency


def from_app_state(name: str) -> Callable[[Request], Any]:
    """A FastAPI dependency: what the service's ``create_app`` put in ``app.state``."""

    def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return dependency


def create_service_app(
    runtime: ServiceRuntime[Any],
    routers: Sequence[APIRouter],
    title: str,
    description: str = "",
    state: Mapping[str, object] = MappingProxyType({}),
) -> FastAPI:
    """The FastAPI app with the API's conventions (docs/api.md), health checks and lifecycle;
    ``state``: what else the service's dependencies read from ``app.state``, by name."""
    configure_logging(runtime.settings.log_level, service=runtime.name)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, lifespan=lifespan, redirect_slashes=False)
    app.state.runtime = runtime
    verifier: TokenVerifier = runtime.live_sessions
    app.state.token_verifier = verifier
    app.state.access_keys = runtime.access_keys
    for name, value in state.items():
        setattr(app.state, name, value)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestContext)
    app.add_middleware(TrailingSlashInsensitive)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = await runtime.is_ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        """For Prometheus, scraping each service directly (the gateway does not route it)."""
        metrics.OUTBOX_PENDING.set(await runtime.relay.backlog())
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    document_errors(app)
    return app
