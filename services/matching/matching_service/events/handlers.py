"""What matching consumes (``ProfileChanged``, into its participants read model) and answers
(the bot's question of when the next round is)."""

from datetime import UTC, datetime

from faststream.nats import NatsRouter

from matching_service import service
from matching_service.domain.schedule import Schedule
from unimatch_shared.consumers import EventConsumers
from unimatch_shared.events import ProfileChanged
from unimatch_shared.rpc import NextRound, NextRoundReply
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime, schedule: Schedule) -> NatsRouter:
    router = NatsRouter()
    consumers = EventConsumers(runtime.messaging, service.CONSUMER)

    @router.subscriber(runtime.messaging.subject(NextRound.SUBJECT), queue="matching")
    async def next_round(_: NextRound) -> NextRoundReply:
        return NextRoundReply(**vars(schedule.countdown(datetime.now(UTC))))

    @consumers.consumer(ProfileChanged)
    async def profile_changed(event: ProfileChanged) -> None:
        await service.apply_profile_change(runtime.unit_of_work(), event)

    router.include_router(consumers.router)
    return router
