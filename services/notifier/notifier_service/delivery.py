"""What the notifier's two senders (Telegram messages, mails) share: the loop that drains an
outbox table, sleeping while it is empty until new rows are committed or a poll comes due,
and letting deliveries under way finish when the service stops (docs/adr/006, and
docs/adr/021-email-delivery.md)."""

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0


def grow_backoff(current: float, cap: float) -> float:
    """The next pause after the server failed again: 1 s, 2 s, 4 s ... up to ``cap``."""
    return min(max(current * 2, 1.0), cap)


class OutboxLoop:
    """Subclasses say how to start deliveries (``_dispatch``) and how to wind them down."""

    name = "outbox"

    def __init__(self) -> None:
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; then let deliveries under way finish and be recorded."""
        try:
            while True:
                self._wake.clear()
                try:
                    started = await self._dispatch()
                except Exception:
                    log.warning("%s: reading the outbox failed", self.name, exc_info=True)
                    started = 0
                if not started:
                    # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a
                    # cancellation that arrives as the event fires, hanging the shutdown.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(IDLE_POLL_SECONDS):
                            await self._wake.wait()
        finally:
            await self._finish_in_flight()

    async def _dispatch(self) -> int:
        """Start delivering what is due; returns how many deliveries were started."""
        raise NotImplementedError

    async def _finish_in_flight(self) -> None:
        """Called once, when the loop stops."""
