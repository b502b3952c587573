"""The bot's inline keyboards as Telegram's JSON, stored as they are in the message outbox."""

from typing import Any

from notifier_service.domain import texts
from notifier_service.domain.conversation import callback

# Rows of (label, callback data).
Rows = list[list[tuple[str, str]]]


def keyboard(rows: Rows) -> dict[str, Any] | None:
    """Telegram's inline keyboard JSON; buttons carry callback data."""
    buttons = [[{"text": text, "callback_data": data} for text, data in row] for row in rows if row]
    return {"inline_keyboard": buttons} if buttons else None


def follow_up_keyboard(group_id: int) -> dict[str, Any] | None:
    return keyboard(
        [
            [
                (texts.BUTTON_MET, callback("fb", group_id, "yes")),
                (texts.BUTTON_NOT_YET, callback("fb", group_id, "notyet")),
            ],
            [(texts.BUTTON_WONT, callback("fb", group_id, "no"))],
        ]
    )


def block_keyboard(group_id: int, partners: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Under an announcement: "never pair me with this person again", one per partner."""
    rows: Rows = [
        [(texts.block_button(p), callback("bl", group_id, "u", p["id"]))]
        for p in partners
        if p.get("id") is not None
    ]
    return keyboard(rows)
