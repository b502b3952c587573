"""Request and response bodies of the auth endpoints (docs/api.md, Accounts)."""

from pydantic import BaseModel, field_validator

from auth_service.domain.credentials import check_password, normalize_email
from unimatch_shared.fields import Age, HobbyIds, PersonName, Text
from unimatch_shared.schemas import UserOut


class RegisterRequest(BaseModel):
    email: Text
    password: Text
    first_name: PersonName = ""
    last_name: PersonName = ""
    age: Age | None = None
    hobby: HobbyIds = []

    @field_validator("email")
    @classmethod
    def _valid_email(cls, email: str) -> str:
        return normalize_email(email)

    @field_validator("password")
    @classmethod
    def _valid_password(cls, password: str) -> str:
        return check_password(password)

    @field_validator("hobby")
    @classmethod
    def _unique_hobbies(cls, hobby: list[int]) -> list[int]:
        return list(dict.fromkeys(hobby))


class RegisterResponse(BaseModel):
    user: UserOut
    token: str


class LoginRequest(BaseModel):
    email: Text
    password: Text


class TokenResponse(BaseModel):
    token: str


class PasswordResetRequest(BaseModel):
    email: Text

    @field_validator("email")
    @classmethod
    def _valid_email(cls, email: str) -> str:
        return normalize_email(email)


class PasswordResetConfirm(BaseModel):
    """What the reset link carries (``uid``, ``token``) and the new password, which obeys
    the sign-up policy."""

    uid: Text
    token: Text
    new_password: Text

    @field_validator("new_password")
    @classmethod
    def _valid_password(cls, password: str) -> str:
        return check_password(password)


class EmailChangeConfirm(BaseModel):
    """The token of the link mailed to the new address."""

    token: Text
