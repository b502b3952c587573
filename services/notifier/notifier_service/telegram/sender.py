"""Delivers the message outbox: oldest first, one message per chat at a time, a few chats in
parallel, within Telegram's limits. A row is marked sent only after Telegram accepted it, right
away, so a crash can resend at most the messages in flight (docs/adr/006-telegram-delivery.md).
Of several notifier instances only the holder of the Telegram lease runs it, and each attempt
to send confirms the lease first (telegram/lease.py, client.py).
"""

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup

from notifier_service import service
from notifier_service.adapters.db.tables import OutgoingMessage
from notifier_service.delivery import OutboxLoop, grow_backoff
from notifier_service.metrics import TELEGRAM_MESSAGES
from notifier_service.telegram.client import MAX_BACKOFF_SECONDS, TelegramBot
from unimatch_shared.lease import LeaseLost
from unimatch_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SHUTDOWN_GRACE_SECONDS = 5.0


class Sender(OutboxLoop):
    name = "message sender"

    def __init__(self, runtime: ServiceRuntime, telegram: TelegramBot | None, concurrency: int):
        super().__init__()
        self._runtime = runtime
        self._telegram = telegram
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: dict[int, asyncio.Task] = {}
        self._busy_chats: set[int] = set()
        # Marked since the last query began: that query may still have seen them pending.
        self._finished: set[int] = set()
        self._backoff = 0.0

    async def _finish_in_flight(self) -> None:
        """Give sends under way a moment to be accepted and marked; cancel the rest (still
        pending, so the next start sends them)."""
        in_flight = list(self._in_flight.values())
        if not in_flight:
            return
        _, unfinished = await asyncio.wait(in_flight, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _dispatch(self) -> int:
        """Start delivering the oldest pending message of each idle chat; returns how many."""
        self._finished.clear()
        pending = await service.pending_messages(self._runtime.unit_of_work(), BATCH_SIZE)
        oldest: dict[int, OutgoingMessage] = {}
        for message in pending:
            oldest.setdefault(message.chat_id, message)
        candidates = list(oldest.values())
        if self._telegram:  # chats that may receive now first, so none waits on another
            candidates.sort(key=lambda m: self._telegram.limiter.delay(m.chat_id))
        started = 0
        for message in candidates:
            await self._slots.acquire()
            if self._backoff:
                await asyncio.sleep(self._backoff)
            if message.id in self._finished or message.chat_id in self._busy_chats:
                self._slots.release()
                continue
            self._busy_chats.add(message.chat_id)
            self._in_flight[message.id] = asyncio.create_task(self._deliver(message))
            started += 1
        return started

    async def _deliver(self, message: OutgoingMessage) -> None:
        try:
            status = await self._send(message)
            TELEGRAM_MESSAGES.labels(status or "retried").inc()
            if status:
                await service.mark_message(self._runtime.unit_of_work(), message.id, status)
                self._finished.add(message.id)
        except Exception:
            log.warning("delivering message %d failed", message.id, exc_info=True)
        finally:
            del self._in_flight[message.id]
            self._busy_chats.discard(message.chat_id)
            self._slots.release()
            self._wake.set()

    async def _send(self, message: OutgoingMessage) -> str | None:
        """Send one message; the status to record, or None to leave it pending."""
        if self._telegram is None:
            # Ids only: the text names people and their emails (no personal data in logs).
            log.info(
                "no bot token; message %d (%d characters) for user %d not sent",
                message.id,
                len(message.text),
                message.user_id,
            )
            return "logged"
        try:
            markup = (
                InlineKeyboardMarkup.model_validate(message.reply_markup)
                if message.reply_markup
                else None
            )
            await self._telegram.bot.send_message(
                message.chat_id, message.text, reply_markup=markup
            )
        except LeaseLost:  # another instance sends it; this one is stopping
            log.info("message %d left pending: the Telegram lease is lost", message.id)
            return None
        except TelegramForbiddenError:
            log.info("chat %d blocked the bot; unlinking it", message.chat_id)
            await service.chat_blocked(self._runtime.unit_of_work(), message)
            return "blocked"
        except TelegramBadRequest as exc:
            log.warning("Telegram refused message %d for good: %s", message.id, exc)
            return "failed"
        except TelegramAPIError as exc:  # network, server, token trouble: try again later
            self._backoff = grow_backoff(self._backoff, MAX_BACKOFF_SECONDS)
            log.warning("sending failed (%s); backing off %.0fs", exc, self._backoff)
            return None
        self._backoff = 0.0
        return "sent"
