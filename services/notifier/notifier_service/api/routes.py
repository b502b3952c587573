"""Linking a Telegram account (widget or deep link) and Telegram's webhook."""

import hmac
from datetime import timedelta

from aiogram.exceptions import TelegramAPIError
from fastapi import APIRouter, Request

from notifier_service import service
from notifier_service.api.dependencies import Requests, Settings, Telegram, UoW
from notifier_service.api.schemas import DeepLinkOut
from unimatch_shared.auth import CurrentUser
from unimatch_shared.errors import APIError, ServiceUnavailable
from unimatch_shared.schemas import TelegramLogin, UserOut

router = APIRouter()
NO_BOT = "The Telegram bot is not configured."


@router.post("/users/api/tg-auth", status_code=201, response_model=UserOut)
async def link_by_widget(
    body: TelegramLogin, user: CurrentUser, uow: UoW, messaging: Requests, settings: Settings
) -> dict:
    bot_token = settings.telegram_bot_token
    if bot_token is None:  # nothing to check the signature with
        raise ServiceUnavailable(NO_BOT)
    login = body.model_dump(exclude_none=True)
    return await service.link_by_widget(uow, messaging, user, login, bot_token)


@router.get("/users/api/tg-link", response_model=DeepLinkOut)
async def deep_link(user: CurrentUser, uow: UoW, settings: Settings, telegram: Telegram) -> dict:
    username = settings.telegram_bot_username
    if username is None:
        if telegram is None:
            raise ServiceUnavailable(NO_BOT)
        try:
            username = await telegram.username()
        except TelegramAPIError as exc:
            raise ServiceUnavailable() from exc
    ttl = timedelta(seconds=settings.link_code_ttl_seconds)
    return await service.create_deep_link(uow, user.user_id, username, ttl)


@router.post("/telegram/webhook", include_in_schema=False)
async def telegram_webhook(request: Request, settings: Settings, telegram: Telegram) -> dict:
    """Updates pushed by Telegram; only it knows the secret it echoes back."""
    if telegram is None or not telegram.uses_webhook:
        raise APIError(404, {"detail": "Not found."})
    secret = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(secret.encode(), settings.webhook_secret.encode()):
        raise APIError(403, {"detail": "Invalid webhook secret."})
    await telegram.feed_webhook(await request.json())
    return {}
