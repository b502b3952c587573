"""Argon2id password hashing (pwdlib's recommended parameters)."""

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verified when the email is unknown, so a miss costs as long as a wrong password.
_DECOY_HASH = _hasher.hash("decoy password, never matches")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DECOY_HASH)
        return False
    return _hasher.verify(password, password_hash)
