"""Wire shapes docs/api.md defines once and several services return."""

from datetime import date

from pydantic import BaseModel, ConfigDict

from unimatch_shared.fields import Text


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


class TelegramLogin(BaseModel):
    """What the Telegram Login Widget hands its ``onauth`` callback, optionally with ``email``
    (seed linking, notifier) — also the web surface's Telegram login (auth).

    Unknown fields are kept: Telegram signs every field it sends, new ones included.
    """

    model_config = ConfigDict(extra="allow")

    id: int
    first_name: Text | None = None
    last_name: Text | None = None
    username: Text | None = None
    photo_url: Text | None = None
    auth_date: int
    hash: Text | None = None
    email: Text | None = None
