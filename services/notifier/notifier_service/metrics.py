"""The notifier's own Prometheus series (the shared ones are in ``unimatch_shared.metrics``):
what became of each Telegram message (docs/adr/006-telegram-delivery.md) and of each mail
(docs/adr/021-email-delivery.md)."""

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
    "Members of a new group not told on Telegram because they have no Telegram linked (those "
    "with email on are mailed instead).",
)
MAILS = Counter(
    "unimatch_mails",
    "Mail delivery attempts by outcome: sent; logged (no SMTP_URL); failed (refused for good, "
    "or given up); retried (refused for now, tried again later); unreachable (the server could "
    "not be reached or refused us: the mail stays pending); resent (claimed by a sender that "
    "stopped before recording what became of it: sent again, with the same Message-ID).",
    ["outcome"],
)
TELEGRAM_LEASE_HELD = Gauge(
    "unimatch_telegram_lease_held",
    "1 while this instance holds the Telegram lease: it alone delivers messages and polls.",
    multiprocess_mode="mostrecent",
)
