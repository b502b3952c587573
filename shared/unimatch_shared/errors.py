"""Errors in the API's shape (DRF's; docs/api.md, Errors): ``{"detail": ...}`` or
``{"field": [messages]}``.

FastAPI's own 422s are translated to 400s here, once, for every service.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

FIELD_REQUIRED = "This field is required."
NOT_AUTHENTICATED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."
PERMISSION_DENIED = "You do not have permission to perform this action."
# Auth's refusal of an email another account has (sign-up, change of email); profile, which
# passes a change's refusal on, recognises it by this text.
EMAIL_TAKEN = "user with this email already exists."
UNAVAILABLE = "Service temporarily unavailable, try again later."


class APIError(Exception):
    """An error answered as-is: a status code and a DRF-shaped body."""

    def __init__(
        self, status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ):
        super().__init__(body)
        self.status_code = status_code
        self.body = body
        self.headers = headers


class ValidationFailed(APIError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(400, errors)


class NotAuthenticated(APIError):
    def __init__(self, detail: str = NOT_AUTHENTICATED):
        super().__init__(401, {"detail": detail}, {"WWW-Authenticate": "Token"})


class PermissionDenied(APIError):
    def __init__(self) -> None:
        super().__init__(403, {"detail": PERMISSION_DENIED})


class ServiceUnavailable(APIError):
    def __init__(self, detail: str = UNAVAILABLE, retry_after: int = 5):
        super().__init__(503, {"detail": detail}, {"Retry-After": str(retry_after)})


class Throttled(APIError):
    """DRF's 429: try again in ``wait`` whole seconds (also sent as ``Retry-After``)."""

    def __init__(self, wait: int):
        unit = "second" if wait == 1 else "seconds"
        detail = f"Request was throttled. Expected available in {wait} {unit}."
        super().__init__(429, {"detail": detail}, {"Retry-After": str(wait)})


class DomainError(Exception):
    """A use case's refusal, in no surface's words: the HTTP API answers it through
    ``as_api_error`` (installed below) and request-reply responders through
    ``reply_errors``, each in that one place (docs/adr/023-unit-of-work-and-repositories.md)."""


class NotFound(DomainError):
    """What the use case acts on does not exist (or is not the caller's)."""


class Invalid(DomainError):
    """The input breaks a rule: DRF-shaped ``errors`` per field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class TryLater(DomainError):
    """Too many of these lately: allowed again in ``retry_after`` whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def as_api_error(error: DomainError) -> APIError:
    if isinstance(error, Invalid):
        return ValidationFailed(error.errors)
    if isinstance(error, TryLater):
        return Throttled(error.retry_after)
    if isinstance(error, NotFound):
        return APIError(404, {"detail": "Not found."})
    return APIError(400, {"detail": str(error)})


def reply_errors(error: DomainError) -> dict[str, list[str]]:
    """A refusal as a reply's DRF-shaped ``errors``: what the HTTP API would have said, each
    value a list."""
    body = as_api_error(error).body
    return {k: v if isinstance(v, list) else [v] for k, v in body.items()}


# pydantic error type -> DRF's wording; ``{...}`` is filled from the error's context.
_MESSAGES = {
    "missing": FIELD_REQUIRED,
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "int_from_float": "A valid integer is required.",
    "string_type": "Not a valid string.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "list_type": 'Expected a list of items but got type "{input_type}".',
    "date_type": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
    "date_parsing": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
    "date_from_datetime_parsing": (
        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
    ),
    "string_too_long": "Ensure this field has no more than {max_length} characters.",
    "string_too_short": "Ensure this field has at least {min_length} characters.",
    "too_long": "Ensure this field has no more than {max_length} elements.",
    "too_short": "Ensure this field has at least {min_length} elements.",
    "greater_than_equal": "Ensure this value is greater than or equal to {ge}.",
    "less_than_equal": "Ensure this value is less than or equal to {le}.",
    "extra_forbidden": "Unknown field.",
}
# Errors located at the body itself mean it was not a JSON object at all.
_BODY_SHAPE_ERRORS = {"json_invalid", "model_attributes_type", "dict_type", "model_type", "missing"}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "none_required" or (kind.endswith("_type") and error.get("input", 0) is None):
        return "This field may not be null."
    if kind in _MESSAGES:
        context = {"input_type": type(error.get("input")).__name__, **error.get("ctx", {})}
        return _MESSAGES[kind].format(**context)
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def drf_errors(errors: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Translate pydantic errors; the flag says whether the body was not a JSON object."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error["loc"] if part != "body"]
        at_body = error["loc"][:1] == ("body",)
        if at_body and (
            error["type"] == "json_invalid"
            or (not location and error["type"] in _BODY_SHAPE_ERRORS)
        ):
            reason = error.get("ctx", {}).get("error", "Expected a JSON object.")
            return {"detail": f"JSON parse error - {reason}"}, True
        field = location[0] if location and not location[0].isdigit() else "non_field_errors"
        messages = fields.setdefault(field, [])
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return fields, False


def install_error_handlers(app: FastAPI) -> None:
    """Errors in the seed surface's shapes, or in the web surface's ``{"error": ...}`` for
    paths under ``/api`` (web.py)."""
    from unimatch_shared import web  # web.py builds on this module

    def answer(
        request: Request,
        status: int,
        body: dict[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> JSONResponse:
        if web.on_web_surface(request.url.path):
            body = web.as_web_error(status, body)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        return answer(request, exc.status_code, exc.body, exc.headers)

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> JSONResponse:
        error = as_api_error(exc)
        return answer(request, error.status_code, error.body, error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if web.on_web_surface(request.url.path):
            return JSONResponse(web.validation_error(list(exc.errors())), status_code=400)
        body, _ = drf_errors(list(exc.errors()))
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = {404: "Not found.", 405: "Method not allowed."}.get(exc.status_code, exc.detail)
        return answer(request, exc.status_code, {"detail": detail}, exc.headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg.InterfaceError)
    @app.exception_handler(psycopg_pool.PoolTimeout)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        error = ServiceUnavailable()
        return answer(request, 503, error.body, error.headers)
