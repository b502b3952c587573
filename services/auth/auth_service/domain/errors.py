"""Auth's refusals, in the seed surface's words (``Invalid.errors``, DRF-shaped): the shared
handlers answer them on HTTP and in replies; the web surface words them once, in
api/errors.py (docs/adr/023-unit-of-work-and-repositories.md)."""

from unimatch_shared.errors import EMAIL_TAKEN, DomainError, Invalid

BAD_CREDENTIALS = "Unable to log in with provided credentials."
INVALID_TELEGRAM_LOGIN = "Telegram authorization is invalid or expired."
TELEGRAM_NOT_CONFIGURED = "The Telegram bot is not configured."
INVALID_LINK = "Invalid or expired token."
NO_ACCOUNT = "No such account."


class BadCredentials(Invalid):
    """Unknown email or wrong password: the two are not told apart."""

    def __init__(self) -> None:
        super().__init__({"non_field_errors": [BAD_CREDENTIALS]})


class EmailTaken(Invalid):
    """Another account has this email (or, for the bot's joins, this Telegram user)."""

    def __init__(self) -> None:
        super().__init__({"email": [EMAIL_TAKEN]})


class ProfileRefused(Invalid):
    """Profile refused the sign-up's profile (an unknown hobby): its errors."""


class TelegramLoginRefused(Invalid):
    """The Telegram widget's payload is invalid or expired, or the account it names could
    not be made or linked."""

    def __init__(self, errors: dict[str, list[str]] | None = None):
        super().__init__(errors or {"non_field_errors": [INVALID_TELEGRAM_LOGIN]})


class InvalidLink(Invalid):
    """A mailed link (of ``purpose``) that is malformed, unknown, spent or expired."""

    def __init__(self, purpose: str):
        super().__init__({"token": [INVALID_LINK]})
        self.purpose = purpose


class NoAccount(Invalid):
    def __init__(self) -> None:
        super().__init__({"non_field_errors": [NO_ACCOUNT]})


class TelegramNotConfigured(DomainError):
    """No Telegram bot is configured, so the widget's logins cannot be checked."""


class NoWebSession(DomainError):
    """A refresh token that opens no live web session: malformed, unknown, expired, or of a
    session that has ended."""
