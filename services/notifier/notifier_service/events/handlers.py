"""What the notifier consumes: matches to announce, and profiles (to find users by email)."""

from faststream.nats import NatsRouter

from notifier_service import service
from notifier_service.telegram.sender import Sender
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import PairCreated, ProfileChanged
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime, sender: Sender) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)

    @handlers.consumer(PairCreated)
    async def pair_created(event: PairCreated) -> None:
        if await service.on_pair_created(runtime.unit_of_work(), event):
            sender.notify()

    @handlers.consumer(ProfileChanged)
    async def profile_changed(event: ProfileChanged) -> None:
        await service.on_profile_changed(runtime.unit_of_work(), event)

    return handlers.router
