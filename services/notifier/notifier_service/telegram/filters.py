"""The aiogram filters the bot's handlers share: whose chat is this?"""

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message

from notifier_service import service
from unimatch_shared.runtime import ServiceRuntime


class Linked(Filter):
    """Passes a linked chat's message, handing the handler its ``user_id``; ``~Linked(...)``
    passes the message of a chat linked to no one."""

    def __init__(self, runtime: ServiceRuntime):
        self._runtime = runtime

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        user_id = await service.user_of_chat(self._runtime.unit_of_work(), message.chat.id)
        return {"user_id": user_id} if user_id is not None else False
