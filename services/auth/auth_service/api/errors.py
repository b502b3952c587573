"""Auth's refusals (domain/errors.py) as HTTP answers, for both surfaces, in this one place
(docs/adr/023-unit-of-work-and-repositories.md): the seed surface's DRF shapes, and the web
surface's ``{"error": ...}`` in the words its front end shows."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auth_service.domain.errors import (
    TELEGRAM_NOT_CONFIGURED,
    BadCredentials,
    EmailTaken,
    InvalidLink,
    NoWebSession,
    ProfileRefused,
    TelegramLoginRefused,
    TelegramNotConfigured,
)
from auth_service.domain.mailed_tokens import PASSWORD_RESET
from unimatch_shared.errors import APIError, DomainError, ServiceUnavailable, as_api_error
from unimatch_shared.web import WebError, WebNotAuthenticated, as_web_error, on_web_surface

WEB_BAD_CREDENTIALS = "Неверный email или пароль"
WEB_EMAIL_TAKEN = "Пользователь с таким email уже существует"
WEB_UNKNOWN_HOBBY = "Хобби: выбрано хобби, которого нет в списке"
WEB_INVALID_TELEGRAM = "Данные входа через Telegram недействительны или устарели"
WEB_TELEGRAM_NOT_CONFIGURED = "Вход через Telegram не настроен"
WEB_INVALID_RESET_LINK = "Ссылка для сброса пароля недействительна или устарела"
WEB_INVALID_EMAIL_LINK = "Ссылка подтверждения email недействительна или устарела"

# What the web surface says for each refusal with a 400 of its own.
_WEB_WORDS: dict[type[DomainError], str] = {
    BadCredentials: WEB_BAD_CREDENTIALS,
    EmailTaken: WEB_EMAIL_TAKEN,
    ProfileRefused: WEB_UNKNOWN_HOBBY,
    TelegramLoginRefused: WEB_INVALID_TELEGRAM,
}


def as_http_error(refusal: DomainError, web: bool) -> APIError:
    """The answer to ``refusal`` on the web surface (``web``) or the seed surface."""
    if isinstance(refusal, TelegramNotConfigured):
        if web:
            return WebError(503, WEB_TELEGRAM_NOT_CONFIGURED, ServiceUnavailable().headers)
        return ServiceUnavailable(TELEGRAM_NOT_CONFIGURED)
    if isinstance(refusal, NoWebSession):
        return WebNotAuthenticated()
    if not web:
        return as_api_error(refusal)
    if isinstance(refusal, InvalidLink):
        reset = refusal.purpose == PASSWORD_RESET
        return WebError(400, WEB_INVALID_RESET_LINK if reset else WEB_INVALID_EMAIL_LINK)
    if type(refusal) in _WEB_WORDS:
        return WebError(400, _WEB_WORDS[type(refusal)])
    seed = as_api_error(refusal)
    return WebError(
        seed.status_code, as_web_error(seed.status_code, seed.body)["error"], seed.headers
    )


def answer_refusals(app: FastAPI) -> None:
    """Answer auth's refusals with ``as_http_error`` (instead of the shared handler, which
    knows no auth wording)."""

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> JSONResponse:
        error = as_http_error(exc, on_web_surface(request.url.path))
        return JSONResponse(error.body, status_code=error.status_code, headers=error.headers)
