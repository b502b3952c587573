"""What auth answers over NATS: token verification for every other service."""

from faststream.nats import NatsRouter

from auth_service import service
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.rpc import VerifiedToken, VerifyToken
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, "auth")

    @handlers.answer(VerifyToken)
    async def verify_token(request: VerifyToken) -> VerifiedToken:
        return await service.verify_token(runtime.unit_of_work(), request.token)

    return handlers.router
