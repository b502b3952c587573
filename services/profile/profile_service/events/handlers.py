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

    @handlers.consumer(UserRegistered)
    async def user_registered(event: UserRegistered) -> None:
        await service.on_user_registered(runtime.unit_of_work(), event)

    @handlers.consumer(PairCreated)
    async def pair_created(event: PairCreated) -> None:
        await service.on_pair_created(runtime.unit_of_work(), event)

    @handlers.consumer(TelegramLinked)
    async def telegram_linked(event: TelegramLinked) -> None:
        await service.on_telegram_linked(runtime.unit_of_work(), event)

    @handlers.consumer(TelegramUnlinked)
    async def telegram_unlinked(event: TelegramUnlinked) -> None:
        await service.on_telegram_unlinked(runtime.unit_of_work(), event)

    @handlers.consumer(EmailUnsubscribed)
    async def email_unsubscribed(event: EmailUnsubscribed) -> None:
        await service.on_email_unsubscribed(runtime.unit_of_work(), event)

    @handlers.consumer(AccountEmailChanged)
    async def account_email_changed(event: AccountEmailChanged) -> None:
        await service.on_account_email_changed(runtime.unit_of_work(), event)

    @handlers.consumer(MeetingFeedback)
    async def meeting_feedback(event: MeetingFeedback) -> None:
        await meetings.on_feedback(runtime.unit_of_work(), event)

    @handlers.consumer(PartnerBlocked)
    async def partner_blocked(event: PartnerBlocked) -> None:
        await meetings.on_block_change(runtime.unit_of_work(), event)

    @handlers.consumer(PartnerUnblocked)
    async def partner_unblocked(event: PartnerUnblocked) -> None:
        await meetings.on_block_change(runtime.unit_of_work(), event)

    @handlers.consumer(AccountDeleted)
    async def account_deleted(event: AccountDeleted) -> None:
        await service.on_account_deleted(runtime.unit_of_work(), event)

    return handlers.router
