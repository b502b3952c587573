"""Rules for emails, passwords and tokens. Pure functions: no I/O, no framework."""

import secrets

from email_validator import EmailNotValidError, validate_email

INVALID_EMAIL = "Enter a valid email address."
PASSWORD_MIN_LENGTH = 6
PASSWORD_MAX_LENGTH = 128


class InvalidCredential(ValueError):
    """A rule broken; the message is the one the API shows."""


def normalize_email(raw: str) -> str:
    """The canonical, lower-cased form under which an email is stored and compared."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidCredential(INVALID_EMAIL) from exc
    return checked.normalized.lower()


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidCredential(
            "This password is too short. "
            f"It must contain at least {PASSWORD_MIN_LENGTH} characters."
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidCredential(
            f"Ensure this field has no more than {PASSWORD_MAX_LENGTH} characters."
        )
    if password.isdigit():
        raise InvalidCredential("This password is entirely numeric.")
    return password


def new_token() -> str:
    """40 random lowercase hex characters (160 bits), the API's token format
    (docs/api.md, Authentication)."""
    return secrets.token_hex(20)


def check_web_password(password: str) -> str:
    """The sign-up policy plus the web form's own rule (a Latin letter), in Russian: the web
    surface shows these messages as they are."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidCredential(f"не короче {PASSWORD_MIN_LENGTH} символов")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidCredential(f"не длиннее {PASSWORD_MAX_LENGTH} символов")
    if password.isdigit():
        raise InvalidCredential("не может состоять только из цифр")
    if not any("a" <= char.lower() <= "z" for char in password):
        raise InvalidCredential("должен содержать латинскую букву")
    return password
