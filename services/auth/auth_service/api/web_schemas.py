"""Bodies of auth's web-surface endpoints (docs/api.md, Web surface); messages in Russian."""

from datetime import date

from pydantic import BaseModel, ConfigDict, field_validator

from auth_service.domain.credentials import InvalidCredential, check_web_password, normalize_email
from unimatch_shared.fields import Text, TgLink, WebHobbyIds, WebName
from unimatch_shared.schemas import WebUserOut


class WebLoginRequest(BaseModel):
    email: Text
    password: Text


class WebRegisterRequest(BaseModel):
    """The sign-up form; the keys only the form uses (``confirmPassword``, ``agree…``) are
    ignored."""

    model_config = ConfigDict(extra="ignore")

    email: Text
    password: Text
    first_name: WebName
    last_name: WebName
    birth: date | None = None
    hobby: WebHobbyIds
    tg_link: TgLink = ""

    @field_validator("email")
    @classmethod
    def _valid_email(cls, email: str) -> str:
        try:
            return normalize_email(email)
        except InvalidCredential:
            raise ValueError("некорректный адрес") from None

    @field_validator("password")
    @classmethod
    def _valid_password(cls, password: str) -> str:
        try:
            return check_web_password(password)
        except InvalidCredential as exc:
            raise ValueError(str(exc)) from None


class RefreshRequest(BaseModel):
    """Logout's optional body; without it, the cookie names the session."""

    refresh: Text | None = None


class AccessResponse(BaseModel):
    access: str


class WebRegisterResponse(BaseModel):
    user: WebUserOut
    access: str


class WebPasswordResetRequest(BaseModel):
    email: Text

    @field_validator("email")
    @classmethod
    def _valid_email(cls, email: str) -> str:
        try:
            return normalize_email(email)
        except InvalidCredential:
            raise ValueError("некорректный адрес") from None


class WebPasswordResetConfirm(BaseModel):
    """Djoser's body; ``re_new_password``, if the form sends it, is ignored."""

    model_config = ConfigDict(extra="ignore")

    uid: Text
    token: Text
    new_password: Text

    @field_validator("new_password")
    @classmethod
    def _valid_password(cls, password: str) -> str:
        try:
            return check_web_password(password)
        except InvalidCredential as exc:
            raise ValueError(str(exc)) from None


class WebEmailChangeConfirm(BaseModel):
    token: Text
