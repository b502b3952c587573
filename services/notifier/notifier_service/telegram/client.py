"""The bot when a token is configured: the aiogram Bots talking to ``TELEGRAM_API_URL`` with
Telegram's limits applied to every send, its Dispatcher, and how updates reach it (long
polling, or a webhook when ``TELEGRAM_WEBHOOK_URL`` is set).

Two ``Bot`` objects share the token and one rate limiter: ``bot`` sends announcements (the
sender), ``reply_bot`` receives updates, so the Dispatcher's handlers answer through it and
their replies draw on the replies' share of the budget (``TELEGRAM_REPLIES_PER_SECOND``).
Each announcement is fenced: right before every attempt to send it, the Telegram lease is
confirmed (docs/adr/024-several-instances.md)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommand

from notifier_service.domain import texts
from notifier_service.domain.rate_limit import Kind, RateLimiter
from notifier_service.metrics import TELEGRAM_RETRY_AFTER
from notifier_service.settings import NotifierSettings
from notifier_service.telegram.commands import build_dispatcher
from unimatch_shared.lease import LeaseLost
from unimatch_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0


Fence = Callable[[], Awaitable[bool]]


class Throttle(BaseRequestMiddleware):
    """Every message (and edit) waits for the rate limiter, within its kind's share; a 429
    pauses all sending for Telegram's ``retry_after`` and the same request is tried again.
    With a ``fence``, each attempt goes only if it still answers True (else ``LeaseLost``)."""

    def __init__(self, limiter: RateLimiter, kind: Kind, fence: Fence | None = None):
        self._limiter = limiter
        self._kind = kind
        self._fence = fence

    async def _confirm_lease(self) -> None:
        if self._fence is not None and not await self._fence():
            raise LeaseLost()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> TelegramType:
        while True:
            if isinstance(method, SendMessage | EditMessageText) and method.chat_id is not None:
                await self._limiter.acquire(
                    method.chat_id, self._kind, self._confirm_lease if self._fence else None
                )
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                TELEGRAM_RETRY_AFTER.inc()
                log.warning("Telegram asked to retry after %ss", exc.retry_after)
                self._limiter.pause(exc.retry_after)


class TelegramBot:
    def __init__(
        self, settings: NotifierSettings, runtime: ServiceRuntime, fence: Fence | None = None
    ):
        """``fence``: asked before each announcement goes (the Telegram lease is held)."""
        self._settings = settings
        self.limiter = RateLimiter(
            per_second=settings.telegram_messages_per_second,
            chat_interval=settings.telegram_chat_interval_seconds,
            margin=settings.telegram_rate_margin_seconds,
            replies_per_second=settings.telegram_replies_per_second,
        )
        self.bot = self._bot(Kind.ANNOUNCEMENT, fence)
        self.reply_bot = self._bot(Kind.REPLY)
        self.dispatcher = build_dispatcher(runtime)

    def _bot(self, kind: Kind, fence: Fence | None = None) -> Bot:
        settings = self._settings
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        session.middleware(Throttle(self.limiter, kind, fence))
        # Every text is HTML, whatever people supplied in it escaped (domain/texts.py).
        html = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)
        return Bot(settings.telegram_bot_token, session=session, default=html)

    @property
    def uses_webhook(self) -> bool:
        return self._settings.telegram_webhook_url is not None

    async def username(self) -> str:
        """For deep links, when not configured: asked once (aiogram caches it)."""
        return (await self.bot.me()).username

    async def receive_updates(self) -> None:
        """Register the commands and the webhook, or poll for updates until cancelled."""
        await self._until_done(self._set_up)
        if self.uses_webhook:
            return
        polling = asyncio.ensure_future(
            self.dispatcher.start_polling(
                self.reply_bot,
                polling_timeout=self._settings.telegram_polling_timeout,
                handle_signals=False,
                close_bot_session=False,
            )
        )
        try:
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            # Cancelled, start_polling returns but leaves its getUpdates loop running (and
            # logging errors once Telegram is gone); its stop signal ends that loop too.
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:  # not started yet
                polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            raise

    async def feed_webhook(self, update: dict) -> None:
        await self.dispatcher.feed_webhook_update(self.reply_bot, update)

    async def close(self) -> None:
        await self.bot.session.close()
        await self.reply_bot.session.close()

    async def _set_up(self) -> None:
        commands = [BotCommand(command=c, description=d) for c, d in texts.COMMANDS.items()]
        await self.bot.set_my_commands(commands)
        if self.uses_webhook:
            await self.bot.set_webhook(
                self._settings.telegram_webhook_url,
                secret_token=self._settings.webhook_secret,
                allowed_updates=self.dispatcher.resolve_used_update_types(),
            )
        else:  # Telegram refuses getUpdates while a webhook is set
            await self.bot.delete_webhook()

    async def _until_done(self, step) -> None:
        """Telegram may be unreachable at start-up; keep trying without failing the service."""
        delay = 1.0
        while True:
            try:
                return await step()
            except TelegramAPIError as exc:
                log.warning("Telegram set-up failed (%s), retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
