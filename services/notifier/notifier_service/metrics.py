"""The notifier's own Prometheus series (the shared ones are in ``unimatch_shared.metrics``):
what became of each Telegram message (docs/adr/006-telegram-delivery.md)."""

from prometheus_client import Counter, Gauge

TELEGRAM_MESSAGES = Counter(
    "unimatch_telegram_messages",
    "Delivery attempts by outcome: sent; logged (no bot token); blocked (the user blocked the "
    "bot, chat unlinked); failed (refused for good); retried (Telegram or the network failed, "
    "the message stays pending).",
    ["outcome"],
)
TELEGRAM_RETRY_AFTER = Counter(
    "unimatch_telegram_retry_after",
    "429 answers from Telegram; all sending paused for the time it asked.",
)
ANNOUNCEMENTS_SKIPPED_UNLINKED = Counter(
    "unimatch_announcements_skipped_unlinked",
    "Members of a new group not told because they have no Telegram linked.",
)
TELEGRAM_LEASE_HELD = Gauge(
    "unimatch_telegram_lease_held",
    "1 while this instance holds the Telegram lease: it alone delivers messages and polls.",
    multiprocess_mode="mostrecent",
)
