"""The notifier service: everything Telegram. Which chat belongs to which user, the bot and its
commands, and every message sent (an outbox of messages, delivered within Telegram's limits)."""
