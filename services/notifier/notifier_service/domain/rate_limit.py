"""Telegram's sending limits, kept on our side so we rarely meet its 429s.

At most ``per_second`` messages in any sliding second overall, and one message per chat every
``chat_interval`` seconds. Both windows are padded by ``margin`` against network jitter. A slot
is reserved when taken, so concurrent senders cannot overshoot together.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Forget chats idle for longer than their interval once this many are remembered.
_PRUNE_AT = 4096


class RateLimiter:
    def __init__(
        self,
        per_second: int = 30,
        chat_interval: float = 1.0,
        margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._window = 1.0 + margin
        self._chat_interval = chat_interval + margin
        self._recent: deque[float] = deque(maxlen=per_second)
        self._chat_free_at: dict[int, float] = {}
        self._paused_until = 0.0
        self._clock = clock

    def delay(self, chat_id: int) -> float:
        """Seconds until a message to ``chat_id`` may go (0 if it may go now)."""
        now = self._clock()
        waits = [self._paused_until - now, self._chat_free_at.get(chat_id, 0.0) - now]
        if len(self._recent) == self._recent.maxlen:
            waits.append(self._recent[0] + self._window - now)
        return max(0.0, *waits)

    def take(self, chat_id: int) -> None:
        """Reserve a slot for a message to ``chat_id`` now."""
        now = self._clock()
        self._recent.append(now)
        if len(self._chat_free_at) >= _PRUNE_AT:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
        self._chat_free_at[chat_id] = now + self._chat_interval

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nothing goes out until then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat_id: int) -> None:
        while (wait := self.delay(chat_id)) > 0:
            await asyncio.sleep(wait)
        self.take(chat_id)
