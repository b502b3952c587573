"""The bot's commands. Replies are interactive, so they are sent directly (still within the
rate limits); only announcements (and follow-ups) go through the message outbox. Joining,
/profile, /leave and the buttons are ``conversations``'s."""

from datetime import date

from aiogram import Dispatcher, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message, Update

from notifier_service import bot_service, service
from notifier_service.domain import texts
from notifier_service.telegram.conversations import build_conversation_router
from notifier_service.telegram.filters import Linked
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.rpc import NextRound, SetPause
from unimatch_shared.runtime import ServiceRuntime

_LINK_REPLIES = {
    service.CodeOutcome.LINKED: texts.LINKED,
    service.CodeOutcome.INVALID: texts.CODE_INVALID,
    service.CodeOutcome.CHAT_TAKEN: texts.CHAT_TAKEN,
}


def build_dispatcher(runtime: ServiceRuntime) -> Dispatcher:
    router = Router(name="commands")
    linked = Linked(runtime)

    @router.message(CommandStart(deep_link=True))
    async def start_with_code(message: Message, command: CommandObject) -> None:
        username = message.from_user.username if message.from_user else None
        outcome = await service.link_by_code(
            runtime.unit_of_work(), command.args, message.chat.id, username
        )
        await message.answer(_LINK_REPLIES[outcome])

    @router.message(CommandStart(), linked)
    async def start(message: Message) -> None:
        await message.answer(texts.greeting(message.chat.first_name or ""))

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        await message.answer(texts.HELP)

    @router.message(Command("next"))
    async def next_round(message: Message) -> None:
        try:
            reply = await runtime.messaging.request(NextRound())
        except ServiceUnavailable:
            await message.answer(texts.UNAVAILABLE)
            return
        await message.answer(
            texts.next_round(
                reply.days_left, reply.hours_left, reply.minutes_left, reply.next_match_at
            )
        )

    @router.message(Command("pair"), linked)
    async def pair(message: Message, user_id: int) -> None:
        matches = await service.matches_of(runtime.unit_of_work(), user_id, limit=1)
        if not matches:
            await message.answer(texts.NO_MATCH)
            return
        match = matches[0]
        await message.answer(
            texts.current_match(match.created_at, match.partners, match.shared_hobbies)
        )

    @router.message(Command("history"), linked)
    async def history(message: Message, user_id: int) -> None:
        matches = await service.matches_of(runtime.unit_of_work(), user_id, texts.HISTORY_LIMIT)
        if not matches:
            await message.answer(texts.NO_HISTORY)
            return
        await message.answer(texts.history([(m.created_at, m.partners) for m in matches]))

    @router.message(Command("pause"), linked)
    async def pause(message: Message, command: CommandObject, user_id: int) -> None:
        try:
            until = date.fromisoformat(command.args.strip()) if command.args else None
        except ValueError:
            await message.answer(texts.BAD_PAUSE_DATE)
            return
        if await _set_pause(message, SetPause(user_id=user_id, paused=True, until=until)):
            await message.answer(texts.paused(until))

    @router.message(Command("resume"), linked)
    async def resume(message: Message, user_id: int) -> None:
        if await _set_pause(message, SetPause(user_id=user_id, paused=False)):
            await message.answer(texts.RESUMED)

    async def _set_pause(message: Message, request: SetPause) -> bool:
        """Ask profile; on refusal tell the chat why and return False."""
        try:
            reply = await runtime.messaging.request(request)
        except ServiceUnavailable:
            await message.answer(texts.UNAVAILABLE)
            return False
        if reply.errors:
            await message.answer(texts.PAUSE_REFUSED)
            return False
        return True

    @router.message(Command("pair", "history", "pause", "resume", "profile", "leave"))
    async def not_linked(message: Message) -> None:
        await message.answer(texts.NOT_LINKED)

    @router.message()
    async def anything_else(message: Message) -> None:
        await message.answer(texts.HELP)

    dispatcher = Dispatcher()

    @dispatcher.update.outer_middleware()
    async def once(handler, update: Update, data: dict):
        """An update Telegram delivers again is not handled again."""
        if await bot_service.first_delivery_of_update(runtime.unit_of_work(), update.update_id):
            return await handler(update, data)
        return None

    # First: /start in an unlinked chat, /profile, /leave, typed answers, every button.
    dispatcher.include_router(build_conversation_router(runtime))
    dispatcher.include_router(router)
    return dispatcher
