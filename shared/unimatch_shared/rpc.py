"""Request-reply messages over core NATS, for the few steps that must answer synchronously.

Everything else travels as events; see docs/adr/001-registration-across-contexts.md and
docs/adr/002-authentication-across-services.md for why these two exist.
"""

from typing import ClassVar

from pydantic import BaseModel


class Request(BaseModel):
    SUBJECT: ClassVar[str]


class VerifyToken(Request):
    """Any service -> auth: who does this token belong to?"""

    SUBJECT: ClassVar[str] = "rpc.auth.verify-token"

    token: str


class VerifiedToken(BaseModel):
    user_id: int | None = None
    is_staff: bool = False


class CreateProfile(Request):
    """auth -> profile during sign-up: validate the hobbies and store the profile."""

    SUBJECT: ClassVar[str] = "rpc.profile.create"

    user_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    age: int | None = None
    hobby: list[int] = []


class CreateProfileReply(BaseModel):
    """Either ``user`` (the contract's user object) or ``errors`` (DRF-shaped, for a 400)."""

    user: dict | None = None
    errors: dict[str, list[str]] | None = None
