"""The bot's conversations as plain data: their states, what their buttons carry, and the
checks on what people type (docs/adr/020-telegram-conversations.md). No I/O."""

import re
import unicodedata
from dataclasses import dataclass

# Joining, step by step; a joined chat has no conversation left.
JOIN_NAME = "join_name"
JOIN_HOBBIES = "join_hobbies"
JOIN_EMAIL = "join_email"
JOIN_CONFIRM = "join_confirm"
JOIN_SUBMITTING = "join_submitting"  # auth asked; asked again on resume until it answers
JOIN_STATES = frozenset({JOIN_NAME, JOIN_HOBBIES, JOIN_EMAIL, JOIN_CONFIRM, JOIN_SUBMITTING})
# A linked chat changing its hobbies, or writing a comment on a meeting it rated.
EDIT_HOBBIES = "edit_hobbies"
FEEDBACK_COMMENT = "feedback_comment"
# States whose next step is typed rather than pressed.
TEXT_STATES = frozenset({JOIN_NAME, JOIN_EMAIL, FEEDBACK_COMMENT})

NAME_MAX_LENGTH = 150  # profile's first_name / last_name
EMAIL_MAX_LENGTH = 254
COMMENT_MAX_LENGTH = 1000  # MeetingFeedback.comment
MAX_HOBBIES = 100  # JoinByTelegram / SetHobbies
HOBBIES_PER_PAGE = 8

# "<kind>:<ref>:<action>[:<arg>]", at most 53 of Telegram's 64 bytes. ``ref`` is the step's
# version for the join and hobby buttons, a group id for a meeting's, 0 where none applies.
_CALLBACK = re.compile(
    r"(?P<kind>[a-z]{1,2}):(?P<ref>\d{1,19}):(?P<action>[a-z0-9_]{1,10})(?::(?P<arg>\d{1,19}))?"
)


@dataclass(frozen=True)
class Press:
    """A button press, parsed; anything else (forged, from an old bot) parses to None."""

    kind: str
    ref: int
    action: str
    arg: int | None = None


def callback(kind: str, ref: int, action: str, arg: int | None = None) -> str:
    return f"{kind}:{ref}:{action}" + (f":{arg}" if arg is not None else "")


def parse_callback(data: str | None) -> Press | None:
    match = _CALLBACK.fullmatch(data or "")
    if match is None:
        return None
    arg = match["arg"]
    return Press(match["kind"], int(match["ref"]), match["action"], int(arg) if arg else None)


class Refused(ValueError):
    """What was typed cannot be used; the message says why (shown to the person)."""


def _has_control(text: str, allow_newlines: bool = False) -> bool:
    """Control, format, surrogate, private-use and line/paragraph separator characters."""
    for char in text:
        if allow_newlines and char == "\n":
            continue
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}:
            return True
    return False


def parse_name(raw: str) -> tuple[str, str]:
    """ "First [Last]" as typed; each part at most 150 characters, nothing invisible."""
    if _has_control(raw):
        raise Refused("name_control")
    text = raw.strip()
    if not text:
        raise Refused("name_empty")
    first, _, last = text.partition(" ")
    last = last.strip()
    if len(first) > NAME_MAX_LENGTH or len(last) > NAME_MAX_LENGTH:
        raise Refused("name_long")
    return first, last


def prefill_name(first: str | None, last: str | None) -> tuple[str, str]:
    """The names Telegram gives, made storable: invisible characters dropped, cut to fit."""

    def clean(part: str | None) -> str:
        kept = "".join(c for c in (part or "") if not _has_control(c))
        return " ".join(kept.split())[:NAME_MAX_LENGTH]

    return clean(first), clean(last)


def parse_email(raw: str) -> str:
    """A plausible address (auth checks it for real); at most 254 characters."""
    text = raw.strip()
    if len(text) > EMAIL_MAX_LENGTH:
        raise Refused("email_long")
    local, at, domain = text.rpartition("@")
    if (
        _has_control(text)
        or not at
        or not local
        or "." not in domain
        or any(c.isspace() for c in text)
    ):
        raise Refused("email_invalid")
    return text


def parse_comment(raw: str) -> str:
    text = raw.strip()
    if _has_control(text, allow_newlines=True):
        raise Refused("comment_control")
    if len(text) > COMMENT_MAX_LENGTH:
        raise Refused("comment_long")
    return text


def toggle_hobby(chosen: list[int], hobby_id: int, catalog: set[int]) -> list[int]:
    """Add or remove one hobby; an id not in the catalog changes nothing."""
    if hobby_id not in catalog:
        return chosen
    if hobby_id in chosen:
        return [h for h in chosen if h != hobby_id]
    if len(chosen) >= MAX_HOBBIES:
        return chosen
    return sorted([*chosen, hobby_id])


def page_count(catalog_size: int) -> int:
    return max(1, -(-catalog_size // HOBBIES_PER_PAGE))


def clamp_page(page: int, catalog_size: int) -> int:
    return min(max(page, 0), page_count(catalog_size) - 1)
