"""What matching consumes (``ProfileChanged``, into its participants read model; blocks and
meeting feedback; deleted accounts) and answers (the bot's question of when the next round
is)."""

from datetime import UTC, datetime

from faststream.nats import NatsRouter

from matching_service import service
from matching_service.adapters.db.unit_of_work import SqlMatchingUnitOfWork
from matching_service.domain.schedule import Schedule
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import (
    AccountDeleted,
    MeetingFeedback,
    PartnerBlocked,
    PartnerUnblocked,
    ProfileChanged,
)
from unimatch_shared.rpc import NextRound, NextRoundReply
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime[SqlMatchingUnitOfWork], schedule: Schedule) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)

    @handlers.answer(NextRound)
    async def next_round(_: NextRound) -> NextRoundReply:
        return NextRoundReply(**vars(schedule.countdown(datetime.now(UTC))))

    handlers.use_cases(
        runtime.unit_of_work,
        {
            ProfileChanged: service.apply_profile_change,
            PartnerBlocked: service.apply_block,
            PartnerUnblocked: service.apply_block,
            MeetingFeedback: service.apply_feedback,
            AccountDeleted: service.forget_account,
        },
    )
    return handlers.router
