"""Which notifier instance talks to Telegram: the holder of the ``telegram`` lease
(docs/adr/024-several-instances.md).

Every instance consumes events, queues messages and serves HTTP; only the lease holder
delivers the message outbox and polls for updates. So one process sends, the 30 msg/s budget
(and the per-chat interval) is kept in one place as before, polling never runs twice, and each
message is fenced: the holder confirms the lease right before each attempt to send it. When
the holder dies, another instance takes the lease within seconds and carries on from the
outbox.

A new holder waits ``SETTLE_SECONDS`` before it sends: a previous holder that lost the lease
while alive (its session broke) stops starting sends at once (the fence), but the requests it
had already sent to Telegram are still being answered and marked. Read as pending too early,
those would go out twice.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from notifier_service.metrics import TELEGRAM_LEASE_HELD
from notifier_service.settings import NotifierSettings
from notifier_service.telegram.client import TelegramBot
from notifier_service.telegram.sender import Sender
from unimatch_shared.lease import Lease
from unimatch_shared.runtime import ServiceRuntime

# Longer than a send takes to be answered and marked (tens of milliseconds).
SETTLE_SECONDS = 3.0


def telegram_lease(settings: NotifierSettings) -> Lease:
    """One lease per deployment: named after the event prefix, like everything it shares."""
    return Lease(
        settings.database_url,
        f"{settings.unimatch_event_prefix}notifier.telegram",
        on_change=TELEGRAM_LEASE_HELD.set,
    )


def talk_to_telegram_under_lease(
    runtime: ServiceRuntime,
    lease: Lease,
    sender: Sender,
    telegram: TelegramBot | None,
    also: Sequence[Callable[[], Awaitable[None]]] = (),
) -> None:
    """While the service runs: wait for the lease, then deliver and receive until it is lost;
    ``also``: other loops that must run on one instance only, under the same lease."""

    async def deliver() -> None:
        await asyncio.sleep(SETTLE_SECONDS)
        await sender.run()

    async def duties() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(deliver())
            if telegram is not None:  # in webhook mode this only registers the webhook
                group.create_task(telegram.receive_updates())
            for loop in also:
                group.create_task(loop())

    async def hold() -> None:
        await lease.hold(duties)

    runtime.run_in_background("telegram", hold)
