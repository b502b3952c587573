"""The bot's conversations on aiogram: /start in an unlinked chat (joining), /profile, /leave,
typed answers, and every inline button. The steps themselves are ``bot_service``'s; this
module turns updates into its calls and its screens into messages.

Every button press is answered (aiogram's ``CallbackAnswerMiddleware``, with the step's
toast), so no button keeps spinning, whatever the press was."""

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware

from notifier_service import bot_service
from notifier_service.bot_service import Catalog, Person, Screen
from notifier_service.domain import conversation as flow
from notifier_service.domain import texts
from notifier_service.telegram.filters import Linked
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.rpc import HobbyCatalogRequest
from unimatch_shared.runtime import ServiceRuntime

# Presses whose answer replaces the pressed message; a block's answer is a new message, so
# the announcement it was pressed under stays as it was.
EDITED = {"j", "h", "p", "lv", "fb", "fr", "fc"}


class HobbyNames:
    """The hobby catalog, asked of profile once: it changes only with profile's migrations,
    which a restart of the notifier picks up."""

    def __init__(self, runtime: ServiceRuntime):
        self._runtime = runtime
        self._catalog: Catalog | None = None

    async def get(self) -> Catalog:
        if self._catalog is None:
            reply = await self._runtime.messaging.request(HobbyCatalogRequest())
            self._catalog = {h.id: h.name for h in sorted(reply.hobbies, key=lambda h: h.id)}
        return self._catalog


def _person(chat_id: int, user: User | None) -> Person:
    return Person(
        chat_id=chat_id,
        telegram_id=user.id if user else chat_id,
        first_name=user.first_name if user else None,
        last_name=user.last_name if user else None,
        username=user.username if user else None,
    )


def _markup(screen: Screen) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.model_validate(screen.keyboard) if screen.keyboard else None


async def _send(message: Message, screen: Screen) -> None:
    if screen.text:
        await message.answer(screen.text, reply_markup=_markup(screen))


async def _edit(message: Message, screen: Screen) -> None:
    """Replace the pressed message; one Telegram no longer lets us edit gets a new one."""
    if not screen.text:
        return
    try:
        await message.edit_text(screen.text, reply_markup=_markup(screen))
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            await _send(message, screen)


def build_conversation_router(runtime: ServiceRuntime) -> Router:
    router = Router(name="conversations")
    # Private chats only: a group's chat must never become someone's account's chat.
    router.message.filter(F.chat.type == "private")
    router.callback_query.middleware(CallbackAnswerMiddleware())
    catalog = HobbyNames(runtime)

    uow = runtime.unit_of_work
    linked = Linked(runtime)
    unlinked = ~linked

    @router.message(CommandStart(deep_link=False), unlinked)
    async def start(message: Message) -> None:
        """Offer to join, or take the join under way up again where it stopped."""
        person = _person(message.chat.id, message.from_user)
        try:
            state = await bot_service.pending_state(uow(), person.chat_id)
            if state == flow.JOIN_SUBMITTING:
                screen = await bot_service.submit_join(
                    uow(), runtime.messaging, person, await catalog.get()
                )
            elif state in flow.JOIN_STATES:
                screen = await bot_service.begin_join(uow(), person, await catalog.get())
            else:
                screen = bot_service.join_offer()
        except ServiceUnavailable:
            screen = Screen(texts.UNAVAILABLE)
        await _send(message, screen)

    @router.message(Command("profile"), linked)
    async def profile(message: Message, user_id: int) -> None:
        try:
            screen = await bot_service.show_profile(runtime.messaging, user_id, await catalog.get())
        except ServiceUnavailable:
            screen = Screen(texts.UNAVAILABLE)
        await _send(message, screen)

    @router.message(Command("leave"), linked)
    async def leave(message: Message) -> None:
        await _send(message, bot_service.leave_question())

    @router.message(F.text, ~F.text.startswith("/"))
    async def typed(message: Message) -> None:
        """A name, an email or a comment, if the chat's conversation waits for one."""
        person = _person(message.chat.id, message.from_user)
        text = message.text or ""
        try:
            state = await bot_service.pending_state(uow(), person.chat_id)
            if state not in flow.TEXT_STATES:
                raise SkipHandler()
            names = await catalog.get() if state in flow.JOIN_STATES else {}
            screen = await bot_service.typed(uow(), person, text, names)
        except ServiceUnavailable:
            screen = Screen(texts.UNAVAILABLE)
        if screen is None:
            raise SkipHandler()
        await _send(message, screen)

    @router.callback_query()
    async def pressed(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
        """Any button: parsed, checked and handed to its step; forged or unknown data, and
        buttons of steps gone by, are answered politely and change nothing."""
        press = flow.parse_callback(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if press is None or message is None or message.chat.type != "private":
            callback_answer.text = texts.STALE_BUTTON
            return
        person = _person(message.chat.id, query.from_user)
        try:
            screen = await _step(person, press)
        except ServiceUnavailable:
            screen = Screen(toast=texts.UNAVAILABLE)
        if screen.toast:
            callback_answer.text = screen.toast
        if press.kind in EDITED:
            await _edit(message, screen)
        else:
            await _send(message, screen)

    async def _step(person: Person, press: flow.Press) -> Screen:
        messaging = runtime.messaging
        if press.kind == "j":
            names = await catalog.get()
            return await bot_service.join_press(uow(), messaging, person, press, names)
        if press.kind == "h":
            names = await catalog.get()
            return await bot_service.hobby_press(uow(), messaging, person, press, names)
        if press.kind == "p":
            names, now = await catalog.get(), datetime.now(UTC)
            return await bot_service.profile_press(uow(), messaging, person, press, names, now)
        if press.kind == "lv":
            return await bot_service.leave_press(uow(), messaging, person, press)
        if press.kind in {"fb", "fr", "fc"}:
            return await bot_service.meeting_press(uow(), person, press)
        if press.kind == "bl":
            return await bot_service.block_press(uow(), person, press)
        return bot_service.STALE

    return router
