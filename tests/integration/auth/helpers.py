"""Helpers for auth's integration tests: settings with a staff account to log in as."""

from auth_service.settings import AuthSettings

ADMIN = {"email": "staff@example.com", "password": "staff-password-1"}


def staffed(service_settings: dict, account: dict[str, str] = ADMIN, **fields) -> AuthSettings:
    """Auth's settings for a test, ``account`` made the staff account at start-up."""
    return AuthSettings(
        **service_settings,
        unimatch_admin_email=account["email"],
        unimatch_admin_password=account["password"],
        **fields,
    )
