"""ASGI middleware for the API's HTTP conventions (docs/api.md, Conventions) and for
observability (request ids, the access log, HTTP metrics)."""

import json
import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unimatch_shared import correlation
from unimatch_shared.metrics import HTTP_DURATION, HTTP_REQUESTS

MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "Request body is too large."
# Probes and scrapes: served, but neither logged nor counted, so they do not drown traffic.
UNRECORDED_PATHS = {"/healthz", "/readyz", "/metrics"}

access_log = logging.getLogger("unimatch.access")


class TrailingSlashInsensitive:
    """Routes are declared without a trailing slash; a request with one is served the same,
    with no redirect (front ends call both forms)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope["path"]) > 1 and scope["path"].endswith("/"):
            scope = dict(scope, path=scope["path"].rstrip("/") or "/")
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Refuses bodies over ``MAX_BODY_BYTES`` with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on (it turns any other
    exception raised while reading the body into a 400) and the app answers it as a 413;
    caught here too, for a reader that lets it escape."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


async def _too_large(send: Send) -> None:
    body = json.dumps({"detail": TOO_LARGE}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Gives each request an id — the caller's ``X-Request-Id`` (the gateway sets one) or a new
    one — binds it while the request is served, so every log line and every event it causes
    carries it, and returns it in the response. Then writes one access-log line and the HTTP
    metrics, by route template (``/users/{id}``, not each path) to keep the series few.

    It goes inside ``TrailingSlashInsensitive`` (whose rewritten scope the router marks with
    the route) and outside the rest, so their answers (413s) are recorded too.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = Headers(scope=scope).get(correlation.REQUEST_ID_HEADER)
        request_id = correlation.acceptable(supplied) or correlation.new_id()
        status = 500  # unless a response starts: an exception escaped

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[correlation.REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        restore = correlation.bind(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _record(scope, status, time.perf_counter() - started)
            restore()


def _record(scope: Scope, status: int, seconds: float) -> None:
    method, route = scope["method"], _route_template(scope)
    if route in UNRECORDED_PATHS:
        return
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
    access_log.info(
        "%s %s %d",
        method,
        scope["path"],
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def _route_template(scope: Scope) -> str:
    """The path pattern of the route that served the request (the router notes it in the
    scope); unknown paths share one label, so scanners cannot create series."""
    if route := scope.get("route"):
        template: str = route.path
        return template
    # FastAPI notes only the endpoint of its own pages (/openapi.json, /docs): fixed paths.
    return scope["path"] if "endpoint" in scope else "unmatched"
