"""Builds the auth service's app: its runtime, NATS handlers and HTTP routes."""

from pathlib import Path

from fastapi import FastAPI

from auth_service import service
from auth_service.api.routes import router
from auth_service.events.handlers import build_router
from auth_service.settings import AuthSettings
from unimatch_shared.events import UserRegistered
from unimatch_shared.rpc import VerifiedToken
from unimatch_shared.runtime import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


class LocalTokenVerifier:
    """Auth checks tokens against its own tables; others ask it over NATS."""

    def __init__(self, runtime: ServiceRuntime):
        self._runtime = runtime

    async def verify(self, token: str) -> VerifiedToken:
        return await service.verify_token(self._runtime.unit_of_work(), token)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    runtime = ServiceRuntime("auth", settings, MIGRATIONS, emits=[UserRegistered])
    runtime.messaging.broker.include_router(build_router(runtime))

    if settings.unimatch_admin_email and settings.unimatch_admin_password:

        async def ensure_admin() -> None:
            await service.ensure_admin(
                runtime.unit_of_work(),
                settings.unimatch_admin_email,
                settings.unimatch_admin_password,
            )

        runtime.on_start.append(ensure_admin)

    return create_service_app(
        runtime,
        [router],
        title="UniMatch auth",
        description="Accounts and tokens: register, log in, log out.",
        token_verifier=LocalTokenVerifier(runtime),
    )
