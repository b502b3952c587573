"""Builds the auth service's app: its runtime, password hashing and HTTP routes."""

import asyncio
import logging
from datetime import timedelta

from fastapi import FastAPI

from auth_service import mailed_links, service
from auth_service.adapters.db.unit_of_work import SqlAuthUnitOfWork
from auth_service.adapters.db.views import PooledLookups
from auth_service.adapters.hashing import PasswordWork
from auth_service.adapters.signing_key import load_signing_key
from auth_service.api import account_links, web
from auth_service.api.errors import answer_refusals
from auth_service.api.routes import router
from auth_service.events.handlers import build_router
from auth_service.settings import AuthSettings
from auth_service.web_sessions import WebSessions, forget_finished_web_sessions
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailChangeRequested,
    PasswordResetRequested,
    UserRegistered,
)
from unimatch_shared.runtime import ServiceRuntime, create_service_app

log = logging.getLogger(__name__)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    emits = [
        UserRegistered,
        PasswordResetRequested,
        EmailChangeRequested,
        AccountEmailChanged,
        AccountDeleted,
    ]
    runtime = ServiceRuntime(
        "auth",
        settings,
        emits=emits,
        read_pool=True,
        unit_of_work=SqlAuthUnitOfWork,
    )
    passwords = PasswordWork(
        threads=settings.hashing_threads,
        budget=settings.password_hash_budget_seconds,
        niceness=settings.password_hash_niceness,
    )

    runtime.messaging.broker.include_router(build_router(runtime))
    secret = settings.unimatch_jwt_private_key
    signing_key = load_signing_key(
        secret.get_secret_value() if secret else None, settings.signing_key_path
    )
    web_sessions = WebSessions(
        signing_key,
        settings.access_token_lifetime,
        settings.refresh_token_lifetime,
        settings.refresh_reuse_grace,
    )

    async def publish_signing_key() -> None:
        """Before the first token is signed, every service can check it (docs/adr/015)."""
        lifetime = settings.access_token_lifetime.total_seconds()
        await runtime.access_keys.publish(signing_key.public_key(), lifetime)

    async def restore_sessions() -> None:
        await runtime.live_sessions.apply_idle_timeout()
        if runtime.live_sessions_created:
            restored = await service.restore_sessions(runtime.unit_of_work(), runtime.live_sessions)
            log.info("session store created; %d sessions restored from the database", restored)

    async def stop_hashing() -> None:
        passwords.close()

    async def forget_idle_sessions() -> None:
        """Rows of sessions whose store entries expired (docs/adr/010), web sessions that
        are over (docs/adr/015), and mailed tokens long expired, every tenth of the idle time
        (at most hourly)."""
        idle = timedelta(seconds=settings.session_idle_seconds)
        pause = min(idle.total_seconds() / 10, 3600)
        while True:
            try:
                while await service.forget_idle_sessions(runtime.unit_of_work(), idle):
                    pass
                while await forget_finished_web_sessions(runtime.unit_of_work()):
                    pass
                while await mailed_links.forget_old_mailed_tokens(runtime.unit_of_work()):
                    pass
            except Exception:
                log.warning("forgetting idle sessions failed; trying again later", exc_info=True)
            await asyncio.sleep(pause)

    runtime.on_start.append(restore_sessions)
    runtime.on_start.append(publish_signing_key)
    runtime.run_in_background("forget-idle-sessions", forget_idle_sessions)
    runtime.on_stop.append(stop_hashing)
    if settings.unimatch_admin_email and settings.unimatch_admin_password:

        async def ensure_admin() -> None:
            await service.ensure_admin(
                runtime.unit_of_work(),
                runtime.live_sessions,
                settings.unimatch_admin_email,
                settings.unimatch_admin_password,
            )

        runtime.on_start.append(ensure_admin)

    app = create_service_app(
        runtime,
        [router, web.router, account_links.router, account_links.web_router],
        title="UniMatch auth",
        description="Accounts and sessions: register, log in, log out, reset a password, "
        "confirm a new email; the web surface's access and refresh tokens.",
        state={
            "passwords": passwords,
            "web_sessions": web_sessions,
            "lookups": PooledLookups(runtime.reads),
        },
    )
    answer_refusals(app)
    return app
