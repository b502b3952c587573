"""Field rules the contract states once for every endpoint that accepts them."""

from typing import Annotated

from pydantic import Field, StringConstraints

PersonName = Annotated[str, StringConstraints(max_length=150)]
Age = Annotated[int, Field(ge=14, le=120)]
HobbyIds = Annotated[list[int], Field(max_length=100)]
