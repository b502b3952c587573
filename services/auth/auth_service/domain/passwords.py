"""Argon2id password hashing with OWASP's recommended parameters
(docs/adr/012-password-hashing-and-load-shedding.md).

OWASP's Password Storage Cheat Sheet: Argon2id with 19 MiB of memory, 2 iterations, 1 lane
(~26 ms of one core here). A stored hash made with other parameters (pwdlib's former
default, 64 MiB / 3 / 4) still verifies, and is replaced on the next successful login.
"""

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1

_hasher = PasswordHash(
    (Argon2Hasher(time_cost=ITERATIONS, memory_cost=MEMORY_KIB, parallelism=LANES),)
)
# Verified when the email is unknown, so a miss costs as long as a wrong password.
_DECOY_HASH = _hasher.hash("decoy password, never matches")
# The stored hash of an account made by a Telegram login: it has no password, and no
# password logs in to it.
NO_PASSWORD = ""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and, if it does but ``password_hash`` was made with other
    parameters, the hash to store instead (else None)."""
    if not password_hash:  # no such account, or one without a password
        _hasher.verify(password, _DECOY_HASH)
        return False, None
    return _hasher.verify_and_update(password, password_hash)
