"""Drives one chat with the bot through the stand-in Bot API, as a person would: writes,
presses buttons, and reads what the chat shows (edited messages included)."""

import json

from tests.support.helpers import eventually
from tests.support.telegram_stub import Sent, TelegramStub


class BotChat:
    def __init__(self, telegram: TelegramStub, chat_id: int, first_name: str = "Ада"):
        self.telegram = telegram
        self.chat_id = chat_id
        self.first_name = first_name

    def messages(self) -> list[Sent]:
        return self.telegram.chat(self.chat_id)

    def last(self) -> Sent:
        return self.messages()[-1]

    async def say(self, text: str) -> Sent:
        """Write ``text``; the bot's new message in answer."""
        before = len(self.messages())
        self.telegram.push_message(self.chat_id, text, self.first_name)
        await eventually(lambda: len(self.messages()) > before, f"an answer to {text[:40]!r}")
        return self.messages()[before]

    async def press(self, message: Sent, label: str) -> str | None:
        """Press the button whose label starts with ``label``; the answer on the button."""
        matches = [data for text, data in message.buttons().items() if text.startswith(label)]
        assert matches, f"no button {label!r} in {list(message.buttons())}"
        return await self.press_data(message, matches[0])

    async def press_data(self, message: Sent, data: str) -> str | None:
        """Press a button carrying ``data`` (real or forged); waits until it is answered."""
        query_id = self.telegram.push_press(self.chat_id, message, data, self.first_name)
        await eventually(lambda: query_id in self.telegram.callback_answers, f"answer to {data}")
        return self.telegram.callback_answers[query_id]


def hobby_buttons(message: Sent) -> dict[str, str]:
    """The hobby picker's toggles: label -> data."""
    return {text: data for text, data in message.buttons().items() if data.startswith("h:")}


def toggles(message: Sent) -> list[str]:
    return [data for data in hobby_buttons(message).values() if ":t:" in data]


def collect(received: list[dict]):
    """A NATS callback keeping each message's JSON in ``received``."""

    async def keep(message) -> None:
        received.append(json.loads(message.data))

    return keep
