"""The web surface (``/api/...``, docs/api.md "Web surface (/api)"): its caller and its errors.

The web front end sends ``Authorization: Bearer <access token>`` and shows the ``error``
string of a failed call's body, so every error under ``/api`` is ``{"error": "<Russian
text>"}`` — the seed surface keeps its own shapes (errors.py picks by path).
"""

import logging
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from unimatch_shared.access_tokens import InvalidAccessToken, PublicKeys
from unimatch_shared.auth import Principal
from unimatch_shared.errors import APIError

PREFIX = "/api"
log = logging.getLogger(__name__)

NOT_AUTHENTICATED = "Необходимо пройти авторизацию"
NOT_FOUND = "Не найдено"
METHOD_NOT_ALLOWED = "Метод не поддерживается"
UNAVAILABLE = "Сервис временно недоступен, попробуйте позже"
TOO_LARGE = "Слишком большой запрос"
THROTTLED = "Слишком много попыток, попробуйте позже"
BAD_JSON = "Тело запроса должно быть JSON-объектом"


def on_web_surface(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class WebError(APIError):
    """An error of the web surface: ``{"error": message}``."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(status_code, {"error": message}, headers)


class WebNotAuthenticated(WebError):
    def __init__(self) -> None:
        super().__init__(401, NOT_AUTHENTICATED, {"WWW-Authenticate": "Bearer"})


_BY_STATUS = {
    401: NOT_AUTHENTICATED,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: TOO_LARGE,
    429: THROTTLED,
    503: UNAVAILABLE,
}


def as_web_error(status_code: int, body: dict[str, Any]) -> dict[str, Any]:
    """A seed-shaped error body (``detail`` or field errors) in the web surface's shape, for
    errors raised by shared plumbing that does not know which surface it serves."""
    if "error" in body:
        return body
    if status_code in _BY_STATUS:
        return {"error": _BY_STATUS[status_code]}
    return {"error": "Некорректный запрос"}


_LABELS = {
    "email": "Email",
    "password": "Пароль",
    "first_name": "Имя",
    "last_name": "Фамилия",
    "birth": "Дата рождения",
    "hobby": "Хобби",
    "tg_link": "Telegram",
    "channels": "Каналы",
    "refresh": "refresh",
    "new_password": "Новый пароль",
}
_PROBLEMS = {
    "missing": "обязательное поле",
    "date_type": "нужна дата в формате ГГГГ-ММ-ДД",
    "date_parsing": "нужна дата в формате ГГГГ-ММ-ДД",
    "date_from_datetime_parsing": "нужна дата в формате ГГГГ-ММ-ДД",
    "string_too_long": "не больше {max_length} символов",
    "string_too_short": "не меньше {min_length} символов",
    "too_long": "не больше {max_length} элементов",
    "too_short": "не меньше {min_length} элементов",
    "list_type": "нужен список",
    "string_type": "нужна строка",
    "int_type": "нужно целое число",
    "int_parsing": "нужно целое число",
}


def validation_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first of pydantic's errors as one Russian sentence naming the field; the web
    validators' own messages (``ValueError``) are already Russian."""
    error = errors[0]
    location = [str(part) for part in error["loc"] if part != "body"]
    if not location or error["type"] == "json_invalid":
        return {"error": BAD_JSON}
    label = _LABELS.get(location[0], location[0])
    if error["type"] == "value_error":
        problem = error["msg"].removeprefix("Value error, ")
    elif error.get("input", 0) is None and error["type"] != "missing":
        problem = "не может быть пустым"
    else:
        template = _PROBLEMS.get(error["type"], "неверное значение")
        problem = template.format(**error.get("ctx", {}))
    return {"error": f"{label}: {problem}"}


# Declares the scheme in OpenAPI (Swagger UI's "Authorize" offers it for /api operations).
BEARER_SCHEME = HTTPBearer(
    scheme_name="Bearer", description="`Bearer <access token>` from /api/token/", auto_error=False
)


async def current_web_user(
    request: Request, authorization: Annotated[object, Security(BEARER_SCHEME)] = None
) -> Principal:
    """The caller of an ``/api`` endpoint, from its access token, checked against the
    published keys in memory (no round trip; docs/adr/015)."""
    header = request.headers.get("authorization") or ""
    keyword, _, token = header.strip().partition(" ")
    if keyword.lower() != "bearer" or not token.strip():
        raise WebNotAuthenticated()
    keys: PublicKeys = request.app.state.access_keys
    try:
        claims = await keys.verify(token.strip())
    except InvalidAccessToken as exc:
        log.info("access token refused: %s", exc)
        raise WebNotAuthenticated() from None
    return Principal(user_id=claims.user_id, is_staff=claims.is_staff, token=token.strip())


WebUser = Annotated[Principal, Depends(current_web_user)]
