"""Field rules docs/api.md states once for every endpoint that accepts them."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints


def _storable(value: Any) -> Any:
    """DRF's CharField refuses NUL (PostgreSQL cannot store it) and lone surrogates (not
    UTF-8), with these words."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("Null characters are not allowed.")
        for char in value:
            if "\ud800" <= char <= "\udfff":
                raise ValueError(f"Surrogate characters are not allowed: U+{ord(char):X}.")
    return value


Text = Annotated[str, BeforeValidator(_storable)]
PersonName = Annotated[str, StringConstraints(max_length=150), BeforeValidator(_storable)]
Age = Annotated[int, Field(ge=14, le=120)]
HobbyIds = Annotated[list[int], Field(max_length=100)]
# Free text someone writes about a meeting: strictly a string, at most 1000 characters.
Comment = Annotated[
    str, StringConstraints(strict=True, max_length=1000), BeforeValidator(_storable)
]
# An id of a row with a bigint key (a path's ``<id>``): one out of range is refused (400)
# before it reaches PostgreSQL, which would fail on it.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


# The web surface's rules (docs/api.md, Web surface): those its front end checks itself, so
# the server is never looser than the form; messages in Russian, as that surface shows them.
_WEB_NAME = re.compile(r"[A-Za-zА-Яа-яЁё.@+-]+")
_TG_LINK = re.compile(r"@[A-Za-z0-9_]{4,31}")


def _web_name(value: str) -> str:
    if not _WEB_NAME.fullmatch(value):
        raise ValueError("только буквы и символы . @ + -")
    return value


def _tg_link(value: str) -> str:
    """``@nick``, 5–32 characters; ``""`` means none."""
    if value and not _TG_LINK.fullmatch(value):
        raise ValueError("ник в формате @nick: латинские буквы, цифры и _, от 5 до 32 символов")
    return value


def _hobby_count(value: list[int]) -> list[int]:
    value = list(dict.fromkeys(value))
    if not 3 <= len(value) <= 10:
        raise ValueError("выберите от 3 до 10 хобби")
    return value


WebName = Annotated[
    str, StringConstraints(max_length=150), BeforeValidator(_storable), AfterValidator(_web_name)
]
TgLink = Annotated[str, BeforeValidator(_storable), AfterValidator(_tg_link)]
WebHobbyIds = Annotated[list[int], AfterValidator(_hobby_count)]
