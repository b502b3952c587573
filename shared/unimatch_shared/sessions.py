"""Live sessions, which every service reads without asking auth
(docs/adr/010-token-checks-in-a-shared-session-store.md).

Auth keeps each session token's digest in a NATS KV bucket beside its own table: written
before the token is handed out, deleted before a logout answers. Every service looks the
digest up there on each authenticated request — one round trip answered by nats-server itself,
no Python process on the other side. A lookup reads the stream's last entry for that key (on
a replicated bucket, from the stream leader: messaging.kv_config), so once auth's write or
delete is acknowledged, every reader of every service sees it.

Sessions expire after ``UNIMATCH_SESSION_IDLE_DAYS`` (90) without use: the bucket's entries
live that long after their last write, and a reader that finds an entry older than a tenth of
that (at most a day) tells auth with a fire-and-forget ``SessionSeen``; auth, the only writer,
renews the entry and notes the use in its table (docs/adr/010, "Idle sessions expire").
"""

import hashlib
import logging
import time

from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.messaging import Messaging
from unimatch_shared.rpc import SessionSeen

BUCKET_BASE_NAME = "sessions"
MAX_RENEWAL_INTERVAL_SECONDS = 86400.0
log = logging.getLogger(__name__)


def token_digest(token: str) -> str:
    """What is stored instead of the token: its SHA-256, hex (also a valid KV key)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Session(BaseModel):
    """Who a live token belongs to."""

    user_id: int
    is_staff: bool = False


class StoredSession(Session):
    """A session as the bucket holds it: with when auth last wrote it (Unix seconds; 0 for
    entries written before sessions expired)."""

    renewed_at: float = 0.0


class SessionStore:
    """The bucket of live sessions, keyed by token digest; entries expire ``idle_seconds``
    after their last write."""

    def __init__(self, messaging: Messaging, idle_seconds: float):
        self._messaging = messaging
        self.bucket = f"{messaging.safe_prefix}{BUCKET_BASE_NAME}"
        self._kv: KeyValue | None = None
        self.idle_seconds = idle_seconds
        # How old an entry may get before a reader asks auth to renew it.
        self.renew_after = min(idle_seconds / 10, MAX_RENEWAL_INTERVAL_SECONDS)
        self._asked: dict[str, float] = {}  # digest -> when this process last asked

    async def open(self) -> bool:
        """Bind to the bucket, creating it if missing; True if this call created it."""
        config = self._messaging.kv_config(self.bucket, history=1, ttl=self.idle_seconds)
        self._kv, created = await self._messaging.bucket(config)
        return created

    async def apply_idle_timeout(self) -> None:
        """Give an existing bucket this store's entry lifetime (auth, at start-up: a bucket made
        before sessions expired, or under another setting)."""
        js = self._messaging.declaring()
        stream = f"KV_{self.bucket}"
        config = (await js.stream_info(stream)).config
        if config.max_age != self.idle_seconds:
            config.max_age = self.idle_seconds
            await js.update_stream(config)

    async def verify(self, token: str) -> Session | None:
        """The session ``token`` opens, or None if it is unknown or logged out."""
        return await self.find(token_digest(token))

    async def find(self, digest: str) -> Session | None:
        found = await self.entry(digest)
        if found is None:
            return None
        stored, _ = found
        if time.time() - stored.renewed_at > self.renew_after:
            await self._ask_renewal(digest)
        return Session(user_id=stored.user_id, is_staff=stored.is_staff)

    async def entry(self, digest: str) -> tuple[StoredSession, int] | None:
        """The stored session and its revision, or None."""
        try:
            entry = await self._bucket().get(digest)
        except KeyNotFoundError:
            return None
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc
        # get() fills both from the stored message; nats-py types them optional.
        assert entry.value is not None and entry.revision is not None
        return StoredSession.model_validate_json(entry.value), entry.revision

    async def save(self, digest: str, session: Session) -> None:
        """Acknowledged by JetStream when this returns: every reader sees it from now on."""
        stored = StoredSession(
            user_id=session.user_id, is_staff=session.is_staff, renewed_at=time.time()
        )
        try:
            await self._bucket().put(digest, stored.model_dump_json().encode())
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc

    async def renew(self, digest: str, session: Session, revision: int) -> bool:
        """Rewrite the entry (its lifetime starts again) if it is still at ``revision``: never
        brings back one deleted meanwhile. False if it was not."""
        stored = StoredSession(
            user_id=session.user_id, is_staff=session.is_staff, renewed_at=time.time()
        )
        try:
            await self._bucket().update(digest, stored.model_dump_json().encode(), last=revision)
        except KeyWrongLastSequenceError:
            return False
        except (NatsError, TimeoutError) as exc:
            raise ServiceUnavailable() from exc
        return True

    async def _ask_renewal(self, digest: str) -> None:
        """Tell auth this session is in use; at most once per ``renew_after`` per process, and
        best effort: a lost notice only means the next use asks again."""
        now = time.monotonic()
        if now - self._asked.get(digest, -self.renew_after) < self.renew_after:
            return
        if len(self._asked) > 10_000:
            self._asked.clear()
        self._asked[digest] = now
        subject = self._messaging.subject(SessionSeen.SUBJECT)
        try:
            await self._messaging.broker.publish(SessionSeen(digest=digest).model_dump(), subject)
        except Exception as exc:  # never fail the request that used the session
            log.warning("could not ask auth to renew a session: %s", exc.__class__.__name__)

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
