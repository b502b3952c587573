"""Wire shapes docs/api.md defines once and several services return."""

from datetime import date

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


class HobbyOut(BaseModel):
    id: int
    name: str


class WebUserOut(BaseModel):
    """docs/api.md, Web surface: the web user (hobbies as objects, ``tg_link`` ``""`` when
    not given)."""

    id: int
    first_name: str
    last_name: str
    email: str
    birth: date | None
    chat_id: str | None
    image: str | None
    hobby: list[HobbyOut]
    tg_link: str
