"""What both surfaces' endpoints get from this process: the use cases wired to its runtime."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from auth_service import service
from auth_service.domain.throttle import client_address
from unimatch_shared.rpc import CreateProfileReply


def register_account(request: Request) -> Callable[..., Awaitable[tuple[CreateProfileReply, str]]]:
    """``service.register`` given this process's database, broker, session store, hashing
    threads and read pool; the endpoint passes the sign-up's own fields."""
    runtime = request.app.state.runtime
    return partial(
        service.register,
        runtime.unit_of_work(),
        runtime.messaging,
        runtime.live_sessions,
        request.app.state.passwords,
        runtime.reads,
    )


RegisterAccount = Annotated[
    Callable[..., Awaitable[tuple[CreateProfileReply, str]]], Depends(register_account)
]


def caller_address(request: Request) -> str:
    """The client's address as throttling counts it: the gateway's ``X-Real-IP`` when the
    peer is a trusted proxy (docs/adr/009)."""
    return client_address(
        request.client.host if request.client else "",
        request.headers.get("x-real-ip"),
        request.app.state.runtime.settings.trusted_networks,
    )
