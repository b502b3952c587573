"""Where a user hears about their matches: the channels they chose, or the default.

Profile shows the result in ``me`` and the notifier sends by it, so both read a choice the
same way (docs/adr/021-email-delivery.md).
"""

from collections.abc import Iterable
from typing import Literal

Channel = Literal["telegram", "email"]
CHANNELS: tuple[Channel, ...] = ("telegram", "email")


def effective_channels(chosen: Iterable[str] | None, telegram_linked: bool) -> list[Channel]:
    """The channels in force, in ``CHANNELS`` order: the choice, or (``None``, never chosen)
    Telegram when linked, else email. An empty choice means none."""
    if chosen is None:
        return ["telegram"] if telegram_linked else ["email"]
    picked = set(chosen)
    return [channel for channel in CHANNELS if channel in picked]


def without_email(chosen: Iterable[str] | None, telegram_linked: bool) -> list[Channel]:
    """The choice that an unsubscribe from email leaves: what was in force, less email."""
    return [c for c in effective_channels(chosen, telegram_linked) if c != "email"]
