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

    @handlers.consumer(ProfileChanged)
    async def profile_changed(event: ProfileChanged) -> None:
        await service.apply_profile_change(runtime.unit_of_work(), event)

    @handlers.consumer(PartnerBlocked)
    async def partner_blocked(event: PartnerBlocked) -> None:
        await service.apply_block(runtime.unit_of_work(), event)

    @handlers.consumer(PartnerUnblocked)
    async def partner_unblocked(event: PartnerUnblocked) -> None:
        await service.apply_block(runtime.unit_of_work(), event)

    @handlers.consumer(MeetingFeedback)
    async def meeting_feedback(event: MeetingFeedback) -> None:
        await service.apply_feedback(runtime.unit_of_work(), event)

    @handlers.consumer(AccountDeleted)
    async def account_deleted(event: AccountDeleted) -> None:
        await service.forget_account(runtime.unit_of_work(), event)

    return handlers.router
