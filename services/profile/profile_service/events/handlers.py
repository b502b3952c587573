"""What profile consumes (events, durably) and answers (sign-up's, linking's and the bot's
requests)."""

from faststream.nats import NatsRouter

from profile_service import meetings, service
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
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
    SetHobbies,
    SetPause,
)
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)

    @handlers.answer(CreateProfile)
    async def create_profile(request: CreateProfile) -> CreateProfileReply:
        return await service.create_profile(runtime.unit_of_work(), request)

    @handlers.answer(ApplyTelegramLink)
    async def apply_telegram_link(request: ApplyTelegramLink) -> CreateProfileReply:
        return await service.apply_telegram_link(runtime.unit_of_work(), request.event)

    @handlers.answer(SetPause)
    async def set_pause(request: SetPause) -> CreateProfileReply:
        return await service.set_pause_on_request(runtime.unit_of_work(), request)

    @handlers.answer(SetHobbies)
    async def set_hobbies(request: SetHobbies) -> CreateProfileReply:
        return await service.set_hobbies_on_request(
            runtime.unit_of_work(), runtime.messaging, request
        )

    @handlers.answer(ProfileOf)
    async def profile_of(request: ProfileOf) -> CreateProfileReply:
        return await service.profile_on_request(runtime.unit_of_work(), request.user_id)

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
