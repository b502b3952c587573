"""What caused the work under way: the request id and the event being handled.

They live in contextvars, so log lines (``logs.py``), events created meanwhile
(``Event.correlation_id``) and requests to other services (``Messaging.request``) pick them up
without anyone passing them around. Whoever starts a piece of work binds them: the HTTP
middleware, the request-reply middleware, the event consumer policy, the round scheduler.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import uuid4

REQUEST_ID_HEADER = "X-Request-Id"
# The request id as it travels with a NATS request (see ``Messaging.request``).
NATS_HEADER = "Unimatch-Request-Id"
# A caller's id is kept only if it looks like an id: it ends up in every log line.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_event_id: ContextVar[str | None] = ContextVar("event_id", default=None)


def request_id() -> str | None:
    """The id of the request (or scheduled run) that started this chain of work: while an
    event is handled, the correlation id it carries."""
    return _request_id.get()


def event_id() -> str | None:
    """The id of the event being handled, if any."""
    return _event_id.get()


def new_id() -> str:
    return uuid4().hex


def acceptable(value: str | None) -> str | None:
    """``value`` if it can serve as a request id, else None (a fresh one is made instead)."""
    return value if value and _ACCEPTABLE.fullmatch(value) else None


def bind(request_id: str | None = None, event_id: str | None = None) -> Callable[[], None]:
    """Set both ids for what follows in this context; call the result to restore the old ones.

    For middlewares whose start and end are separate calls; elsewhere use ``bound``.
    """
    tokens = (_request_id.set(request_id), _event_id.set(event_id))

    def restore() -> None:
        for token in reversed(tokens):
            token.var.reset(token)

    return restore


@contextmanager
def bound(request_id: str | None = None, event_id: str | None = None) -> Iterator[None]:
    restore = bind(request_id, event_id)
    try:
        yield
    finally:
        restore()
