"""The error responses of every service's OpenAPI document, declared once (docs/api.md, Errors).

FastAPI documents a route's success, plus a 422 that never happens here (errors.py answers
400). ``document_errors`` rewrites each operation's responses from what the operation itself
declares: a body or parameters can be invalid (400) and a body too large (413); the token
scheme means 401, its staff scope 403 (auth.py); anything may meet a dependency that is down
(503). An error only one route gives is declared on it with ``responses=``, as login does
with ``THROTTLED``.
"""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from unimatch_shared.auth import STAFF_SCOPE


class Detail(BaseModel):
    """An error that belongs to no field: ``{"detail": "..."}``."""

    detail: str


class WebErrorBody(BaseModel):
    """Every error of the web surface (``/api/...``): ``{"error": "<Russian text>"}``."""

    error: str


# FastAPI's ``responses=``: status code -> what OpenAPI says of that response.
Responses = dict[int | str, dict[str, Any]]

_DETAIL = {"$ref": "#/components/schemas/Detail"}
# ``{"field": ["message", ...]}``, or ``{"detail": "JSON parse error - ..."}``.
_FIELD_ERRORS = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        _DETAIL,
    ]
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}

THROTTLED: Responses = {
    429: {"model": Detail, "description": "Too many attempts", "headers": _RETRY_AFTER}
}
NO_PROFILE: Responses = {404: {"model": Detail, "description": "The account has no profile (yet)"}}
NOT_FOUND: Responses = {404: {"model": Detail, "description": "No such thing (of the caller's)"}}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


BAD_REQUEST = _response("Invalid input", _FIELD_ERRORS)
UNAUTHORIZED = _response("No, malformed or revoked token", _DETAIL)
FORBIDDEN = _response("Staff only", _DETAIL)
TOO_LARGE = _response("Body over 1 MiB", _DETAIL)
UNAVAILABLE = _response("A dependency is down; retry later", _DETAIL)


def document_errors(app: FastAPI) -> None:
    """Have ``app.openapi()`` declare every operation's error responses."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI; the edits below are idempotent
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Detail"] = Detail.model_json_schema()
        components["WebError"] = WebErrorBody.model_json_schema()
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                errors = _errors(operation)
                if path.startswith("/api/"):
                    errors = {status: _web(error) for status, error in errors.items()}
                for status, response in errors.items():
                    responses.setdefault(status, response)
        return schema

    # FastAPI's documented way to extend the schema; its type says methods stay as defined.
    app.openapi = openapi  # type: ignore[method-assign]


def _web(error: dict[str, Any]) -> dict[str, Any]:
    """The same error as the web surface answers it."""
    return _response(error["description"], {"$ref": "#/components/schemas/WebError"})


def _errors(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    errors = {"503": UNAVAILABLE}
    if "requestBody" in operation or operation.get("parameters"):
        errors["400"] = BAD_REQUEST
    if "requestBody" in operation:
        errors["413"] = TOO_LARGE
    requirements = operation.get("security", [])
    if requirements:
        errors["401"] = UNAUTHORIZED
    if any(STAFF_SCOPE in scopes for req in requirements for scopes in req.values()):
        errors["403"] = FORBIDDEN
    return errors
