"""What auth answers over NATS: token verification for every other service."""

from faststream.nats import NatsRouter

from auth_service import service
from unimatch_shared.rpc import VerifiedToken, VerifyToken
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(runtime.messaging.subject(VerifyToken.SUBJECT), queue="auth")
    async def verify_token(request: VerifyToken) -> VerifiedToken:
        return await service.verify_token(runtime.unit_of_work(), request.token)

    return router
