"""Wire shapes docs/api.md defines once and several services return."""

from pydantic import BaseModel


class UserOut(BaseModel):
    """docs/api.md, The user object (register, tg-auth; ``me`` extends it)."""

    id: int
    first_name: str
    last_name: str
    email: str
    age: int | None
    chat_id: str | None
    image: str | None
    hobby: list[int]
