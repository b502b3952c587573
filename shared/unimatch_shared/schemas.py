"""Wire shapes the contract defines once and several services return."""

from pydantic import BaseModel


class UserOut(BaseModel):
    """The user object of CONTRACT.md 2.1 (register, tg-auth; ``me`` extends it)."""

    id: int
    first_name: str
    last_name: str
    email: str
    age: int | None
    chat_id: str | None
    image: str | None
    hobby: list[int]
