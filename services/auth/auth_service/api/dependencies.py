"""What both surfaces' endpoints get from this process, typed: the one place that reads
``request.app.state`` (docs/adr/023-unit-of-work-and-repositories.md)."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from auth_service import service
from auth_service.domain.throttle import client_address
from auth_service.settings import AuthSettings
from auth_service.unit_of_work import AuthUnitOfWork, Hashing, LiveSessionStore, Lookups
from auth_service.web_sessions import WebSessions
from unimatch_shared.rpc import CreateProfileReply, Requester
from unimatch_shared.runtime import from_app_state, from_runtime, unit_of_work

UoW = Annotated[AuthUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[AuthSettings, Depends(from_runtime("settings"))]
# The session store every service checks seed tokens against (docs/adr/010).
LiveSessions = Annotated[LiveSessionStore, Depends(from_runtime("live_sessions"))]
# The hashing threads (docs/adr/012).
Passwords = Annotated[Hashing, Depends(from_app_state("passwords"))]
Sessions = Annotated[WebSessions, Depends(from_app_state("web_sessions"))]
Requests = Annotated[Requester, Depends(from_runtime("messaging"))]
# Checks on the read pool, made before any hashing (docs/adr/012).
ReadChecks = Annotated[Lookups, Depends(from_app_state("lookups"))]


def caller_address(request: Request, found: Settings) -> str:
    """The client's address as throttling counts it: the gateway's ``X-Real-IP`` when the
    peer is a trusted proxy (docs/adr/009)."""
    return client_address(
        request.client.host if request.client else "",
        request.headers.get("x-real-ip"),
        found.trusted_networks,
    )


ClientAddress = Annotated[str, Depends(caller_address)]


def register_account(
    uow: UoW, messaging: Requests, store: LiveSessions, passwords: Passwords, lookups: ReadChecks
) -> Callable[..., Awaitable[tuple[CreateProfileReply, str]]]:
    """``service.register`` given this process's database, broker, session store, hashing
    threads and read pool; the endpoint passes the sign-up's own fields."""
    return partial(service.register, uow, messaging, store, passwords, lookups)


RegisterAccount = Annotated[
    Callable[..., Awaitable[tuple[CreateProfileReply, str]]], Depends(register_account)
]


def log_in_account(
    uow: UoW, store: LiveSessions, passwords: Passwords, client: ClientAddress
) -> Callable[..., Awaitable[service.Login]]:
    """``service.log_in`` given this process's database, session store and hashing threads,
    for this client; the endpoint passes the credentials and how the session opens."""
    return partial(service.log_in, uow, store, passwords, client=client)


LogIn = Annotated[Callable[..., Awaitable[service.Login]], Depends(log_in_account)]
