"""What profile consumes (events, durably) and answers (sign-up's request)."""

from faststream import AckPolicy
from faststream.nats import NatsRouter, PullSub

from profile_service import service
from unimatch_shared.events import (
    PairCreated,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.rpc import CreateProfile, CreateProfileReply
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
    router = NatsRouter()
    messaging = runtime.messaging

    def consumer(event):
        """A durable pull consumer for ``event``: redelivered until the handler commits."""
        return router.subscriber(
            messaging.subject(event.SUBJECT),
            stream=messaging.stream,
            durable=messaging.durable(service.CONSUMER, event),
            pull_sub=PullSub(batch_size=50, timeout=1.0),
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )

    @router.subscriber(messaging.subject(CreateProfile.SUBJECT), queue="profile")
    async def create_profile(request: CreateProfile) -> CreateProfileReply:
        return await service.create_profile(runtime.unit_of_work(), request)

    @consumer(UserRegistered)
    async def user_registered(event: UserRegistered) -> None:
        await service.on_user_registered(runtime.unit_of_work(), event)

    @consumer(PairCreated)
    async def pair_created(event: PairCreated) -> None:
        await service.on_pair_created(runtime.unit_of_work(), event)

    @consumer(TelegramLinked)
    async def telegram_linked(event: TelegramLinked) -> None:
        await service.on_telegram_linked(runtime.unit_of_work(), event)

    @consumer(TelegramUnlinked)
    async def telegram_unlinked(event: TelegramUnlinked) -> None:
        await service.on_telegram_unlinked(runtime.unit_of_work(), event)

    return router
