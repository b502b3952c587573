"""What the notifier consumes (matches to announce and follow up, members a round left out,
profiles to find users by email and know where to tell them, deleted accounts to forget,
answers given on the web, and the mails other services ask for) and answers (auth's
questions for a web login with the Telegram widget)."""

from datetime import timedelta

from faststream.nats import NatsRouter

from notifier_service import bot_service, mail_service, service
from notifier_service.mail.compose import MailComposer
from notifier_service.mail.sender import MailSender
from notifier_service.telegram.sender import Sender
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailChangeRequested,
    MeetingFeedback,
    PairCreated,
    PasswordResetRequested,
    ProfileChanged,
    RoundSkipped,
)
from unimatch_shared.rpc import FindTelegramUser, LinkTelegramUser, TelegramUserReply
from unimatch_shared.runtime import ServiceRuntime


def build_router(
    runtime: ServiceRuntime, sender: Sender, mail_sender: MailSender, mail: MailComposer
) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, service.CONSUMER)
    follow_up_delay = timedelta(seconds=runtime.settings.follow_up_delay_seconds)

    def wake(queued: service.Queued) -> None:
        if queued.messages:
            sender.notify()
        if queued.mails:
            mail_sender.notify()

    @handlers.consumer(PairCreated)
    async def pair_created(event: PairCreated) -> None:
        wake(await service.on_pair_created(runtime.unit_of_work(), event, mail, follow_up_delay))

    @handlers.consumer(RoundSkipped)
    async def round_skipped(event: RoundSkipped) -> None:
        wake(await service.on_round_skipped(runtime.unit_of_work(), event, mail))

    handlers.use_cases(
        runtime.unit_of_work,
        {
            MeetingFeedback: bot_service.on_meeting_feedback,
            AccountDeleted: bot_service.on_account_deleted,
            ProfileChanged: service.on_profile_changed,
            AccountEmailChanged: mail_service.on_account_email_changed,
        },
    )

    @handlers.consumer(PasswordResetRequested)
    async def password_reset_requested(event: PasswordResetRequested) -> None:
        if await mail_service.on_password_reset_requested(runtime.unit_of_work(), mail, event):
            mail_sender.notify()

    @handlers.consumer(EmailChangeRequested)
    async def email_change_requested(event: EmailChangeRequested) -> None:
        if await mail_service.on_email_change_requested(runtime.unit_of_work(), mail, event):
            mail_sender.notify()

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
