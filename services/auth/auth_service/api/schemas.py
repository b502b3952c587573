"""Request and response bodies of the auth endpoints (docs/api.md, Accounts)."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, field_validator

from auth_service.domain.credentials import check_password, normalize_email
from unimatch_shared.fields import Age, HobbyIds, PersonName, Text
from unimatch_shared.schemas import UserOut

# Normalised, and refused in the API's words if invalid.
Email = Annotated[Text, AfterValidator(normalize_email)]
# Held to the sign-up policy.
Password = Annotated[Text, AfterValidator(check_password)]


class RegisterRequest(BaseModel):
    email: Email
    password: Password
    first_name: PersonName = ""
    last_name: PersonName = ""
    age: Age | None = None
    hobby: HobbyIds = []

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
    email: Email


class PasswordResetConfirm(BaseModel):
    """What the reset link carries (``uid``, ``token``) and the new password, which obeys
    the sign-up policy."""

    uid: Text
    token: Text
    new_password: Password


class EmailChangeConfirm(BaseModel):
    """The token of the link mailed to the new address."""

    token: Text
