"""Access tokens of the web surface (``/api``): short-lived JWTs that auth signs with an
Ed25519 key and every service checks locally (docs/adr/015-web-sessions.md).

Only ``EdDSA`` is accepted, and only under a ``kid`` auth has published: a token whose header
names another algorithm (``none``, ``HS256`` made with the public key as a secret, ``RS256``)
or an unknown key is refused before any signature is looked at. The public keys travel in the
NATS KV bucket ``signing-keys`` (``PublicKeys``): auth writes its key there at start-up, every
service reads the bucket once and then follows its changes, so a check costs no round trip.
"""

import asyncio
import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from unimatch_shared.messaging import Messaging

ALGORITHM = "EdDSA"
ISSUER = "unimatch"
BUCKET_BASE_NAME = "signing-keys"
log = logging.getLogger(__name__)


class InvalidAccessToken(Exception):
    """Malformed, expired, or not signed by a published key; the reason is for logs only."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    is_staff: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def key_id(key: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint: the same key gets the same id in every worker and instance."""
    canonical = json.dumps(public_jwk(key), separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def sign(
    key: Ed25519PrivateKey, claims: AccessClaims, lifetime: timedelta, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    payload = {
        "iss": ISSUER,
        "sub": str(claims.user_id),
        "user_id": claims.user_id,
        "staff": claims.is_staff,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": key_id(key.public_key())})


def unverified_key_id(token: str) -> str:
    """The ``kid`` of a token whose header asks for our algorithm; refuses anything else."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(f"malformed: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidAccessToken(f"algorithm {header.get('alg')!r} refused")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidAccessToken("no key id")
    return kid


def verify(token: str, key: Ed25519PublicKey) -> AccessClaims:
    """The claims of a token signed by ``key`` and not expired."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "user_id"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from None
    user_id, staff = claims["user_id"], claims.get("staff", False)
    if not (isinstance(user_id, int) and isinstance(staff, bool)):
        raise InvalidAccessToken("claims of the wrong type")
    return AccessClaims(user_id=user_id, is_staff=staff)


class PublishedKey(BaseModel):
    """A public key as the bucket holds it; ``retire_at`` (Unix seconds) is when tokens signed
    with it stop being accepted, set once auth signs with a newer key."""

    jwk: dict[str, str]
    retire_at: float | None = None

    def public_key(self) -> Ed25519PublicKey:
        raw = base64.urlsafe_b64decode(self.jwk["x"] + "==")
        return Ed25519PublicKey.from_public_bytes(raw)

    def retired(self, now: float) -> bool:
        return self.retire_at is not None and now >= self.retire_at


class PublicKeys:
    """The published verification keys, held in memory and kept current by a KV watch."""

    def __init__(self, messaging: Messaging):
        self._messaging = messaging
        self.bucket = f"{messaging.safe_prefix}{BUCKET_BASE_NAME}"
        self._kv: KeyValue | None = None
        self._keys: dict[str, PublishedKey] = {}
        self._watch: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Bind to the bucket (creating it: any service may start before auth), load every
        key and follow changes from now on."""
        config = self._messaging.kv_config(self.bucket, history=1)
        self._kv, _ = await self._messaging.bucket(config)
        watcher = await self._kv.watchall()
        async for entry in watcher:  # the current keys, then None
            if entry is None:
                break
            self._apply(entry)
        self._watch = asyncio.create_task(self._follow(watcher), name="signing-keys-watch")

    @property
    def _bucket(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("PublicKeys.open() has not bound the bucket yet")
        return self._kv

    async def close(self) -> None:
        if self._watch:
            self._watch.cancel()

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None:
                self._apply(entry)

    def _apply(self, entry: KeyValue.Entry) -> None:
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            self._keys.pop(entry.key, None)
        else:
            self._keys[entry.key] = PublishedKey.model_validate_json(entry.value)

    async def verify(self, token: str) -> AccessClaims:
        kid = unverified_key_id(token)
        published = self._keys.get(kid) or await self._fetch(kid)
        if published is None or published.retired(time.time()):
            raise InvalidAccessToken("unknown or retired key")
        return verify(token, published.public_key())

    async def _fetch(self, kid: str) -> PublishedKey | None:
        """A key published a moment ago that the watch has not delivered yet."""
        try:
            entry = await self._bucket.get(kid)
        except (KeyNotFoundError, ValueError):
            return None
        except (NatsError, TimeoutError):
            return None
        assert entry.value is not None  # get() sets it to the message's payload
        return PublishedKey.model_validate_json(entry.value)

    async def publish(self, key: Ed25519PublicKey, retire_others_after: float) -> str:
        """Auth's start-up: make ``key`` the one tokens are signed with. Keys published before
        keep working for ``retire_others_after`` seconds (the access-token lifetime), so tokens
        already handed out stay valid until they expire; keys past that are deleted."""
        kid, now = key_id(key), time.time()
        await self._bucket.put(kid, PublishedKey(jwk=public_jwk(key)).model_dump_json().encode())
        for other, published in list(self._keys.items()):
            if other == kid:
                continue
            if published.retired(now):
                await self._bucket.delete(other)
            elif published.retire_at is None:
                published = published.model_copy(update={"retire_at": now + retire_others_after})
                await self._bucket.put(other, published.model_dump_json().encode())
        return kid
