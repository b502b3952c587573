"""The private key web access tokens are signed with (docs/adr/015-web-sessions.md): from
configuration, or made on first start and kept in a file every worker reads."""

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)


def load_signing_key(pem: str | None, path: Path) -> Ed25519PrivateKey:
    """``pem`` if given, else the key in ``path``, created if missing."""
    if pem is None:
        if not path.exists():
            _create(path)
        pem = path.read_text()
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the JWT signing key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def _create(path: Path) -> None:
    """Write a new key atomically: the workers starting together all end up with the one
    that was linked into place first. Each draft has a name of its own: instances in
    containers sharing the folder (compose replicas) may have the same process ids."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
