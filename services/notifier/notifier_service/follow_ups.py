"""Asks "did you meet?": the follow-ups that fell due go into the message outbox, whose sender
delivers them once and within Telegram's limits (docs/adr/006-telegram-delivery.md)."""

import asyncio
import logging
from datetime import UTC, datetime

from notifier_service import bot_service
from notifier_service.telegram.sender import Sender
from unimatch_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


class FollowUpScheduler:
    def __init__(self, runtime: ServiceRuntime, sender: Sender, poll_seconds: float):
        self._runtime = runtime
        self._sender = sender
        self._poll_seconds = poll_seconds

    async def run(self) -> None:
        """Until cancelled: queue what is due, then look again after a while."""
        while True:
            try:
                while await bot_service.queue_due_follow_ups(
                    self._runtime.unit_of_work(), datetime.now(UTC)
                ):
                    self._sender.notify()
            except Exception:
                log.warning("follow-ups: queueing the due ones failed", exc_info=True)
            await asyncio.sleep(self._poll_seconds)
