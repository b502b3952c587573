"""Live sessions, which every service reads without asking auth
(docs/adr/010-token-checks-in-a-shared-session-store.md).

Auth keeps each session token's digest in a NATS KV bucket beside its own table: written
before the token is handed out, deleted before a logout answers. Every service looks the
digest up there on each authenticated request — one round trip answered by nats-server itself,
no Python process on the other side. A lookup reads the stream's last entry for that key, so
once auth's write or delete is acknowledged, every reader of every service sees it.
"""

import hashlib

from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.messaging import RPC_TIMEOUT_SECONDS, Messaging

BUCKET_BASE_NAME = "sessions"


def token_digest(token: str) -> str:
    """What is stored instead of the token: its SHA-256, hex (also a valid KV key)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Session(BaseModel):
    """Who a live token belongs to."""

    user_id: int
    is_staff: bool = False


class SessionStore:
    """The bucket of live sessions, keyed by token digest."""

    def __init__(self, messaging: Messaging):
        self._messaging = messaging
        self.bucket = f"{messaging.safe_prefix}{BUCKET_BASE_NAME}"
        self._kv: KeyValue | None = None

    async def open(self) -> bool:
        """Bind to the bucket, creating it if missing; True if this call created it."""
        js = self._messaging.broker.connection.jetstream(timeout=RPC_TIMEOUT_SECONDS)
        try:
            self._kv = await js.key_value(self.bucket)
            return False
        except BucketNotFoundError:
            config = KeyValueConfig(
                bucket=self.bucket, history=1, storage=StorageType.FILE, direct=True
            )
            self._kv = await js.create_key_value(config)
            return True

    async def verify(self, token: str) -> Session | None:
        """The session ``token`` opens, or None if it is unknown or logged out."""
        return await self.find(token_digest(token))

    async def find(self, digest: str) -> Session | None:
        try:
            entry = await self._bucket().get(digest)
        except KeyNotFoundError:
            return None
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc
        return Session.model_validate_json(entry.value)

    async def save(self, digest: str, session: Session) -> None:
        """Acknowledged by JetStream when this returns: every reader sees it from now on."""
        try:
            await self._bucket().put(digest, session.model_dump_json().encode())
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc

    async def remove(self, digest: str) -> None:
        """Acknowledged when this returns: no reader finds the session any more."""
        try:
            await self._bucket().delete(digest)
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc

    def _bucket(self) -> KeyValue:
        if self._kv is None:  # before start-up finished, or NATS was never reached
            raise ServiceUnavailable()
        return self._kv
