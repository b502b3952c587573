"""``LeanRead``: the route class for the hottest GETs, which need nothing of FastAPI's
per-request machinery but the caller (docs/adr/013-lean-hot-reads.md).

A normal route solves its dependency graph on every request and validates and encodes the
returned value against ``response_model``; for a read that already has its JSON that is about
a third of FastAPI's cost per request. A ``LeanRead`` endpoint takes ``request`` and, if it
needs the caller, ``user: CurrentUser`` (or ``user: WebUser`` on the web surface), and returns
a ready ``Response``: the route calls that dependency's function itself, exactly as FastAPI
would, and then the endpoint. OpenAPI still
reads the endpoint's signature and ``response_model``, so the documents do not change.

    hot = APIRouter(prefix="/users/api", route_class=LeanRead)

    @hot.get("/pairs", response_model=list[MatchOut])
    async def my_matches(user: CurrentUser, request: Request) -> Response: ...
"""

import inspect
import json
import typing
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute

from unimatch_shared.auth import current_user

LEAN_PARAMETERS = ({"request"}, {"request", "user"})


class LeanRead(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        parameters = set(inspect.signature(endpoint).parameters)
        if parameters not in LEAN_PARAMETERS or set(kwargs.get("methods") or ["GET"]) != {"GET"}:
            raise TypeError(
                f"{endpoint.__name__}: a LeanRead is a GET taking (request) or (user, request)"
            )
        self._authenticate = _authenticator(endpoint) if "user" in parameters else None
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint, authenticate = self.endpoint, self._authenticate

        async def handle(request: Request) -> Response:
            if authenticate:
                user = await authenticate(request, request.headers.get("authorization"))
                response: Response = await endpoint(user=user, request=request)
            else:
                response = await endpoint(request=request)
            return response

        return handle


def _authenticator(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The function of the ``Depends`` in the ``user`` parameter's annotation
    (``current_user`` for ``CurrentUser``)."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    for marker in getattr(hints.get("user"), "__metadata__", ()):
        if isinstance(marker, params.Depends) and marker.dependency:
            return marker.dependency
    return current_user


def json_response(body: str | dict[str, Any] | list[Any]) -> Response:
    """A JSON response from text the database already built, or from plain data (dates as
    ISO strings, non-ASCII kept)."""
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=date.isoformat)
    return Response(body, media_type="application/json")
