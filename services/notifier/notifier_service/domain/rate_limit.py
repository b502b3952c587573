"""Telegram's sending limits, kept on our side so we rarely meet its 429s.

At most ``per_second`` messages in any sliding second overall, and one message per chat every
``chat_interval`` seconds. Both windows are padded by ``margin`` against network jitter. A slot
is reserved when taken, so concurrent senders cannot overshoot together.

The overall budget is split between two kinds of message, each with a sliding window of its
own: replies to bot commands get ``replies_per_second`` of it, announcements the rest. The two
shares add up to ``per_second``, so together they stay within Telegram's limit, and neither
kind can hold up the other: a burst of commands leaves the announcements their share, and a
round's thousands of announcements leave a user's ``/next`` its own (docs/adr/006). The
per-chat interval and a 429's pause apply to both kinds.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum

# Forget chats idle for longer than their interval once this many are remembered.
_PRUNE_AT = 4096


class Kind(StrEnum):
    ANNOUNCEMENT = "announcement"
    REPLY = "reply"


class RateLimiter:
    def __init__(
        self,
        per_second: int = 30,
        chat_interval: float = 1.0,
        margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
        replies_per_second: int = 0,
    ):
        """``replies_per_second`` of ``per_second`` are the replies' alone (0: replies and
        announcements share one window)."""
        if not 0 <= replies_per_second < per_second:
            raise ValueError("replies_per_second must be at least 0 and below per_second")
        self._window = 1.0 + margin
        self._chat_interval = chat_interval + margin
        announcements: deque[float] = deque(maxlen=per_second - replies_per_second)
        self._recent = {
            Kind.ANNOUNCEMENT: announcements,
            Kind.REPLY: deque(maxlen=replies_per_second) if replies_per_second else announcements,
        }
        self._chat_free_at: dict[int, float] = {}
        self._paused_until = 0.0
        self._clock = clock

    def delay(self, chat_id: int, kind: Kind = Kind.ANNOUNCEMENT) -> float:
        """Seconds until a message of ``kind`` to ``chat_id`` may go (0 if it may go now)."""
        now = self._clock()
        waits = [self._paused_until - now, self._chat_free_at.get(chat_id, 0.0) - now]
        recent = self._recent[kind]
        if len(recent) == recent.maxlen:
            waits.append(recent[0] + self._window - now)
        return max(0.0, *waits)

    def take(self, chat_id: int, kind: Kind = Kind.ANNOUNCEMENT) -> None:
        """Reserve a slot for a message of ``kind`` to ``chat_id`` now."""
        now = self._clock()
        self._recent[kind].append(now)
        if len(self._chat_free_at) >= _PRUNE_AT:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
        self._chat_free_at[chat_id] = now + self._chat_interval

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nothing goes out until then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(
        self,
        chat_id: int,
        kind: Kind = Kind.ANNOUNCEMENT,
        before_taking: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait for a slot and take it. ``before_taking`` (which may raise) is awaited once a
        slot is free and before it is taken, so however long it takes, the slot is taken just
        before the message goes and the window measures what Telegram sees."""
        while True:
            while (wait := self.delay(chat_id, kind)) > 0:
                await asyncio.sleep(wait)
            if before_taking is None:
                break
            await before_taking()
            if self.delay(chat_id, kind) == 0:  # still free after the wait
                break
        self.take(chat_id, kind)
