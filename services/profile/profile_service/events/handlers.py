"""What profile consumes (events, durably) and answers (sign-up's, linking's and the bot's
requests)."""

from collections.abc import Awaitable

from faststream.nats import NatsRouter

from profile_service import meetings, service
from profile_service.adapters.db.unit_of_work import SqlProfileUnitOfWork
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.errors import DomainError, reply_errors
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailUnsubscribed,
    MeetingFeedback,
    PairCreated,
    PartnerBlocked,
    PartnerUnblocked,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.rpc import (
    ApplyTelegramLink,
    CreateProfile,
    CreateProfileReply,
    HobbyCatalogReply,
    HobbyCatalogRequest,
    ProfileOf,
    ProfileReply,
    SetHobbies,
    SetPause,
)
from unimatch_shared.runtime import ServiceRuntime


async def _profile_reply(user_view: Awaitable[dict]) -> ProfileReply:
    """A use case's user view, or its refusal, as the reply: where requests' answers map
    domain errors."""
    try:
        return ProfileReply(user=await user_view)
    except DomainError as refusal:
        return ProfileReply(errors=reply_errors(refusal))


def build_router(runtime: ServiceRuntime[SqlProfileUnitOfWork]) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)

    @handlers.answer(CreateProfile)
    async def create_profile(request: CreateProfile) -> CreateProfileReply:
        return await service.create_profile(runtime.unit_of_work(), request)

    @handlers.answer(ApplyTelegramLink)
    async def apply_telegram_link(request: ApplyTelegramLink) -> ProfileReply:
        return await _profile_reply(
            service.apply_telegram_link(runtime.unit_of_work(), request.event)
        )

    @handlers.answer(SetPause)
    async def set_pause(request: SetPause) -> ProfileReply:
        return await _profile_reply(service.set_pause_on_request(runtime.unit_of_work(), request))

    @handlers.answer(SetHobbies)
    async def set_hobbies(request: SetHobbies) -> ProfileReply:
        return await _profile_reply(
            service.set_hobbies_on_request(runtime.unit_of_work(), runtime.messaging, request)
        )

    @handlers.answer(ProfileOf)
    async def profile_of(request: ProfileOf) -> ProfileReply:
        return await _profile_reply(service.get_me(runtime.unit_of_work(), request.user_id))

    @handlers.answer(HobbyCatalogRequest)
    async def hobby_catalog(request: HobbyCatalogRequest) -> HobbyCatalogReply:
        return await service.hobby_catalog(runtime.unit_of_work())

    handlers.use_cases(
        runtime.unit_of_work,
        {
            UserRegistered: service.on_user_registered,
            PairCreated: service.on_pair_created,
            TelegramLinked: service.on_telegram_linked,
            TelegramUnlinked: service.on_telegram_unlinked,
            EmailUnsubscribed: service.on_email_unsubscribed,
            AccountEmailChanged: service.on_account_email_changed,
            MeetingFeedback: meetings.on_feedback,
            PartnerBlocked: meetings.on_block_change,
            PartnerUnblocked: meetings.on_block_change,
            AccountDeleted: service.on_account_deleted,
        },
    )
    return handlers.router
