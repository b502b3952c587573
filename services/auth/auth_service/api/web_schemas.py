"""Bodies of auth's web-surface endpoints (docs/api.md, Web surface); messages in Russian."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from auth_service.domain.credentials import InvalidCredential, check_web_password, normalize_email
from unimatch_shared.fields import Text, TgLink, WebHobbyIds, WebName
from unimatch_shared.schemas import WebUserOut


def _web_email(email: str) -> str:
    try:
        return normalize_email(email)
    except InvalidCredential:
        raise ValueError("некорректный адрес") from None


# Normalised; an invalid one is refused in Russian. The password rule's own messages are.
WebEmail = Annotated[Text, AfterValidator(_web_email)]
WebPassword = Annotated[Text, AfterValidator(check_web_password)]


class WebLoginRequest(BaseModel):
    email: Text
    password: Text


class WebRegisterRequest(BaseModel):
    """The sign-up form; the keys only the form uses (``confirmPassword``, ``agree…``) are
    ignored."""

    model_config = ConfigDict(extra="ignore")

    email: WebEmail
    password: WebPassword
    first_name: WebName
    last_name: WebName
    birth: date | None = None
    hobby: WebHobbyIds
    tg_link: TgLink = ""


class RefreshRequest(BaseModel):
    """Logout's optional body; without it, the cookie names the session."""

    refresh: Text | None = None


class AccessResponse(BaseModel):
    access: str


class WebRegisterResponse(BaseModel):
    user: WebUserOut
    access: str


class WebPasswordResetRequest(BaseModel):
    email: WebEmail


class WebPasswordResetConfirm(BaseModel):
    """Djoser's body; ``re_new_password``, if the form sends it, is ignored."""

    model_config = ConfigDict(extra="ignore")

    uid: Text
    token: Text
    new_password: WebPassword


class WebEmailChangeConfirm(BaseModel):
    token: Text
