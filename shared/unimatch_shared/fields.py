"""Field rules docs/api.md states once for every endpoint that accepts them."""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints


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
