"""What the notifier consumes (matches to announce and follow up, profiles to find users by
email, deleted accounts to forget, members a round left out) and answers (auth's questions
for a web login with the Telegram widget)."""

from datetime import timedelta

from faststream.nats import NatsRouter

from notifier_service import bot_service, service
from notifier_service.telegram.sender import Sender
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import AccountDeleted, PairCreated, ProfileChanged, RoundSkipped
from unimatch_shared.rpc import FindTelegramUser, LinkTelegramUser, TelegramUserReply
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime, sender: Sender) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)
    follow_up_delay = timedelta(seconds=runtime.settings.follow_up_delay_seconds)

    @handlers.consumer(PairCreated)
    async def pair_created(event: PairCreated) -> None:
        if await service.on_pair_created(runtime.unit_of_work(), event, follow_up_delay):
            sender.notify()

    @handlers.consumer(RoundSkipped)
    async def round_skipped(event: RoundSkipped) -> None:
        if await bot_service.on_round_skipped(runtime.unit_of_work(), event):
            sender.notify()

    @handlers.consumer(AccountDeleted)
    async def account_deleted(event: AccountDeleted) -> None:
        await bot_service.on_account_deleted(runtime.unit_of_work(), event)

    @handlers.consumer(ProfileChanged)
    async def profile_changed(event: ProfileChanged) -> None:
        await service.on_profile_changed(runtime.unit_of_work(), event)

    bot_token = runtime.settings.telegram_bot_token

    @handlers.answer(FindTelegramUser)
    async def find_telegram_user(request: FindTelegramUser) -> TelegramUserReply:
        login = request.login.model_dump(exclude_none=True)
        return await service.find_telegram_user(runtime.unit_of_work(), login, bot_token)

    @handlers.answer(LinkTelegramUser)
    async def link_telegram_user(request: LinkTelegramUser) -> TelegramUserReply:
        login = request.login.model_dump(exclude_none=True)
        return await service.link_telegram_user(
            runtime.unit_of_work(), runtime.messaging, request.user_id, login, bot_token
        )

    return handlers.router
