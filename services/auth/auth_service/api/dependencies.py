"""What both surfaces' endpoints get from this process, typed: the one place that reads
``request.app.state`` (docs/adr/023-unit-of-work-and-repositories.md)."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from auth_service import service
from auth_service.adapters.hashing import PasswordWork
from auth_service.domain.throttle import client_address
from auth_service.settings import AuthSettings
from auth_service.web_sessions import WebSessions
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import CreateProfileReply
from unimatch_shared.runtime import from_app_state, from_runtime, unit_of_work
from unimatch_shared.sessions import SessionStore
from unimatch_shared.unit_of_work import UnitOfWork

UoW = Annotated[UnitOfWork, Depends(unit_of_work)]
Settings = Annotated[AuthSettings, Depends(from_runtime("settings"))]
# The session store every service checks seed tokens against (docs/adr/010).
LiveSessions = Annotated[SessionStore, Depends(from_runtime("live_sessions"))]
# The hashing threads (docs/adr/012).
Passwords = Annotated[PasswordWork, Depends(from_app_state("passwords"))]
Sessions = Annotated[WebSessions, Depends(from_app_state("web_sessions"))]
Requests = Annotated[Messaging, Depends(from_runtime("messaging"))]
Reads = Annotated[AsyncConnectionPool, Depends(from_runtime("reads"))]


def register_account(
    uow: UoW, messaging: Requests, store: LiveSessions, passwords: Passwords, reads: Reads
) -> Callable[..., Awaitable[tuple[CreateProfileReply, str]]]:
    """``service.register`` given this process's database, broker, session store, hashing
    threads and read pool; the endpoint passes the sign-up's own fields."""
    return partial(service.register, uow, messaging, store, passwords, reads)


RegisterAccount = Annotated[
    Callable[..., Awaitable[tuple[CreateProfileReply, str]]], Depends(register_account)
]


def caller_address(request: Request, found: Settings) -> str:
    """The client's address as throttling counts it: the gateway's ``X-Real-IP`` when the
    peer is a trusted proxy (docs/adr/009)."""
    return client_address(
        request.client.host if request.client else "",
        request.headers.get("x-real-ip"),
        found.trusted_networks,
    )


ClientAddress = Annotated[str, Depends(caller_address)]
