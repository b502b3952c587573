"""Helpers for auth's integration tests: settings with a staff account to log in as."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app

ADMIN = {"email": "staff@example.com", "password": "staff-password-1"}


def staffed(service_settings: dict, account: dict[str, str] = ADMIN, **fields) -> AuthSettings:
    """Auth's settings for a test, ``account`` made the staff account at start-up."""
    return AuthSettings(
        **service_settings,
        unimatch_admin_email=account["email"],
        unimatch_admin_password=account["password"],
        **fields,
    )


@asynccontextmanager
async def running_auth(settings: AuthSettings) -> AsyncIterator[FastAPI]:
    """Auth's app, started, with its test client as ``app.client``."""
    app = create_app(settings)
    async with running_app(app) as client:
        app.client = client
        yield app
