"""What auth answers on NATS: notices that a session is in use (no reply)."""

from faststream.nats import NatsRouter

from auth_service import service
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.rpc import SessionSeen
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, "auth")

    @handlers.answer(SessionSeen)
    async def session_seen(notice: SessionSeen) -> None:
        await service.renew_session(runtime.unit_of_work(), runtime.live_sessions, notice.digest)

    return handlers.router
