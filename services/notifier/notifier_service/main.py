"""Builds the notifier's app: its runtime, event consumers, the Telegram message sender and
the mail sender, the follow-up scheduler, the bot (when a token is configured) and the HTTP
routes."""

from fastapi import FastAPI

from notifier_service.api import unsubscribe
from notifier_service.api.routes import router
from notifier_service.events.handlers import build_router
from notifier_service.follow_ups import FollowUpScheduler
from notifier_service.mail.compose import MailComposer
from notifier_service.mail.sender import MailSender
from notifier_service.settings import NotifierSettings
from notifier_service.telegram.client import TelegramBot
from notifier_service.telegram.lease import talk_to_telegram_under_lease, telegram_lease
from notifier_service.telegram.sender import Sender
from unimatch_shared.events import (
    EmailUnsubscribed,
    MeetingFeedback,
    PartnerBlocked,
    TelegramLinked,
    TelegramUnlinked,
)
from unimatch_shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    runtime = ServiceRuntime(
        "notifier",
        settings,
        emits=[
            TelegramLinked,
            TelegramUnlinked,
            MeetingFeedback,
            PartnerBlocked,
            EmailUnsubscribed,
        ],
    )
    # Of several instances, only the lease holder sends and polls (telegram/lease.py).
    lease = telegram_lease(settings)
    telegram = (
        TelegramBot(settings, runtime, fence=lease.held) if settings.telegram_bot_token else None
    )
    sender = Sender(runtime, telegram, settings.telegram_send_concurrency)
    mail = MailComposer(settings.unimatch_public_url, settings.mail_from)
    mail_sender = MailSender(runtime, settings)
    runtime.messaging.broker.include_router(build_router(runtime, sender, mail_sender, mail))
    # The mail sender too: at start it releases every claim, safe only with one sender.
    talk_to_telegram_under_lease(runtime, lease, sender, telegram, also=[mail_sender.run])
    # Every instance may queue the follow-ups: the outbox's idempotency key keeps one each.
    follow_ups = FollowUpScheduler(runtime, sender, settings.follow_up_poll_seconds)
    runtime.run_in_background("follow-ups", follow_ups.run)
    if telegram is not None:
        runtime.on_stop.append(telegram.close)
    return create_service_app(
        runtime,
        [router, unsubscribe.router],
        title="UniMatch notifier",
        description="Telegram: linking accounts, the bot, and match announcements; mail and "
        "its one-click unsubscribe.",
        # The lease, read by no endpoint, for tests of several instances.
        state={"telegram": telegram, "mail": mail, "telegram_lease": lease},
    )
