"""A stand-in for the Telegram Bot API on 127.0.0.1, for the tests and the notifier benchmark.

It implements what the notifier uses (getMe, sendMessage with inline keyboards,
editMessageText, answerCallbackQuery, setMyCommands, getUpdates with injectable messages and
button presses, setWebhook, deleteWebhook), records every message it accepts, enforces
Telegram's limits (``per_second`` messages in any second, one message per chat every
``chat_interval`` seconds) by answering ``429`` with ``retry_after``, and answers ``403`` for
chats in ``blocked``.

    async with TelegramStub() as telegram:
        settings = NotifierSettings(telegram_api_url=telegram.url, telegram_bot_token=TOKEN)

``ThreadedTelegram`` runs it on a thread of its own, for tests that drive real processes.
"""

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass

from aiohttp import web

TOKEN = "123456:stub-token-for-tests"
USERNAME = "unimatch_test_bot"
# Long polls end this early, so stopping the stub never waits on one.
MAX_POLL_SECONDS = 0.5


@dataclass
class Sent:
    """A message as the chat shows it now: an edit changes ``text`` and ``reply_markup``."""

    chat_id: int
    text: str
    at: float
    message_id: int = 0
    parse_mode: str | None = None
    reply_markup: dict | None = None

    def buttons(self) -> dict[str, str]:
        """Its inline buttons, label -> callback data."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return {b["text"]: b["callback_data"] for row in rows for b in row}


class TelegramStub:
    def __init__(self, per_second: int = 30, chat_interval: float = 1.0, token: str = TOKEN):
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.token = token
        self.sent: list[Sent] = []
        self.blocked: set[int] = set()
        self.too_many_requests = 0  # 429s answered
        self.force_429 = 0  # answer this many next sendMessage calls with 429 regardless
        self.commands: list[dict] = []
        self.webhook: dict | None = None
        self.callback_queries: list[str] = []  # ids of the presses pushed
        self.callback_answers: dict[str, str | None] = {}  # id -> the text shown, if any
        self.edits = 0
        self._recent: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> "TelegramStub":
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._runner.cleanup()

    # What tests use
    def push_message(self, chat_id: int, text: str, first_name: str = "Тест", username=None):
        """A user writes ``text`` to the bot from their private chat ``chat_id``."""
        self._updates.append(self.message_update(chat_id, text, first_name, username))
        self._new_update.set()

    def message_update(self, chat_id: int, text: str, first_name: str = "Тест", username=None):
        """The update Telegram makes of such a message (pushed to a webhook, or polled)."""
        user = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        update_id = next(self._update_ids)
        message = {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": update_id, "message": message}

    def push_press(self, chat_id: int, message: Sent, data: str, first_name: str = "Тест") -> str:
        """The user presses a button (``data``) under ``message``; the press's id."""
        update = self.press_update(chat_id, message, data, first_name)
        self.push_update(update)
        return update["callback_query"]["id"]

    def press_update(self, chat_id: int, message: Sent, data: str, first_name: str = "Тест"):
        """The update Telegram makes of such a press (pushed to a webhook, or polled)."""
        update_id = next(self._update_ids)
        query_id = f"press-{update_id}"
        user = {"id": chat_id, "is_bot": False, "first_name": first_name}
        shown = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "text": message.text,
        }
        query = {
            "id": query_id,
            "from": user,
            "message": shown,
            "chat_instance": str(chat_id),
            "data": data,
        }
        self.callback_queries.append(query_id)
        return {"update_id": update_id, "callback_query": query}

    def push_update(self, update: dict) -> None:
        """Any update, as made by ``message_update`` (e.g. the same one twice)."""
        self._updates.append(update)
        self._new_update.set()

    def chat(self, chat_id: int) -> list[Sent]:
        return [sent for sent in self.sent if sent.chat_id == chat_id]

    def messages_to(self, chat_id: int) -> list[str]:
        return [sent.text for sent in self.sent if sent.chat_id == chat_id]

    # The Bot API
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = dict(await request.post())
        method = request.match_info["method"]
        handlers = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
        }
        if method not in handlers:
            return _error(404, "Not Found: method not found")
        return await handlers[method](params)

    async def _get_me(self, _: dict) -> web.Response:
        bot = {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "UniMatch"}
        return _ok({**bot, "username": USERNAME})

    async def _send_message(self, params: dict) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        over_chat = now - self._chat_last.get(chat_id, -1e9) < self.chat_interval
        if self.force_429 or len(self._recent) >= self.per_second or over_chat:
            self.force_429 = max(0, self.force_429 - 1)
            self.too_many_requests += 1
            return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        self._recent.append(now)
        self._chat_last[chat_id] = now
        markup = json.loads(params["reply_markup"]) if params.get("reply_markup") else None
        sent = Sent(
            chat_id, params["text"], now, len(self.sent) + 1, params.get("parse_mode"), markup
        )
        self.sent.append(sent)
        return _ok(self._shown(sent))

    def _shown(self, sent: Sent) -> dict:
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private"},
            "text": sent.text,
        }
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    async def _edit_message_text(self, params: dict) -> web.Response:
        message_id = int(params["message_id"])
        if not 0 < message_id <= len(self.sent):
            return _error(400, "Bad Request: message to edit not found")
        sent = self.sent[message_id - 1]
        if sent.chat_id != int(params["chat_id"]):
            return _error(400, "Bad Request: message to edit not found")
        markup = json.loads(params["reply_markup"]) if params.get("reply_markup") else None
        if (sent.text, sent.reply_markup) == (params["text"], markup):
            return _error(400, "Bad Request: message is not modified")
        sent.text, sent.reply_markup, sent.parse_mode = (
            params["text"],
            markup,
            params.get("parse_mode"),
        )
        self.edits += 1
        return _ok(self._shown(sent))

    async def _answer_callback_query(self, params: dict) -> web.Response:
        query_id = params["callback_query_id"]
        if query_id not in self.callback_queries or query_id in self.callback_answers:
            return _error(400, "Bad Request: query is too old or query ID is invalid")
        self.callback_answers[query_id] = params.get("text")
        return _ok(True)

    async def _set_my_commands(self, params: dict) -> web.Response:
        self.commands = json.loads(params["commands"])
        return _ok(True)

    async def _get_updates(self, params: dict) -> web.Response:
        offset = int(params.get("offset", 0))
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            wait = min(float(params.get("timeout", 0)), MAX_POLL_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), wait)
        return _ok(self._updates[:100])

    async def _set_webhook(self, params: dict) -> web.Response:
        self.webhook = params
        return _ok(True)

    async def _delete_webhook(self, _: dict) -> web.Response:
        self.webhook = None
        return _ok(True)


class ThreadedTelegram:
    """The stand-in server on its own event loop thread, for the process-level stack.

    Keyword arguments configure the ``TelegramStub`` (e.g. ``per_second``).
    """

    def __init__(self, **stub_options):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stub = TelegramStub(**stub_options)
        self._call(self.stub.__aenter__())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def push_message(self, chat_id: int, text: str, username: str | None = None) -> None:
        self.loop.call_soon_threadsafe(self.stub.push_message, chat_id, text, "Тест", username)

    def messages_to(self, chat_id: int) -> list[str]:
        return self.stub.messages_to(chat_id)

    def chat(self, chat_id: int) -> list[Sent]:
        return self.stub.chat(chat_id)

    def push_press(self, chat_id: int, message: Sent, data: str) -> str:
        return self._call(self._on_loop(self.stub.push_press, chat_id, message, data))

    @staticmethod
    async def _on_loop(function, *args):
        return function(*args)

    def close(self) -> None:
        self._call(self.stub.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def _ok(result) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, parameters: dict | None = None) -> web.Response:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


def login_widget_data(user_id: int, token: str = TOKEN, auth_date: int | None = None, **fields):
    """What the Login Widget hands its callback, signed as Telegram signs it."""
    data = {"id": user_id, "first_name": "Тест", "auth_date": auth_date or int(time.time())}
    data.update(fields)
    check = "\n".join(f"{key}={data[key]}" for key in sorted(data))
    secret = hashlib.sha256(token.encode()).digest()
    return {**data, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
