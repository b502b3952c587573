"""Settings every service reads from the environment (README.md, Configuration)."""

import os
import ssl
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# prometheus_client's multiprocess mode: where worker processes pool their samples. Read by
# the library when it is imported, so serve.py sets it before any worker starts.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# How long the event stream keeps an event (messaging.py); an applied event's inbox row must
# live at least as long, or a consumer could be handed it again and apply it twice.
EVENT_STREAM_MAX_AGE_DAYS = 90


def default_workers() -> int:
    """One worker process per CPU the process may run on (docs/adr/011-worker-processes.md)."""
    return max(1, len(os.sched_getaffinity(0)))


def nats_servers(url: str) -> list[str]:
    """The servers a ``NATS_URL`` names: comma-separated URLs, blanks ignored."""
    return [server.strip() for server in url.split(",") if server.strip()]


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and adds its own fields."""

    # Empty variables (compose passes `${VAR:-}`) mean "use the default". A setting refused
    # at start-up is named, never echoed: it may be a password or a token.
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )
    # A service whose background work must not run twice lowers this (the notifier: 1).
    MAX_WORKERS: ClassVar[int | None] = None

    # The address to listen on: loopback unless configured by name (compose: 0.0.0.0, so
    # the gateway's container can reach it). A service is meant to be reached through the
    # gateway only; a generic HOST variable in the environment does not widen this.
    unimatch_host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:5432/unimatch"
    # Credentials go in the URLs: nats://user:password@host:port, and PostgreSQL's own
    # (docs/adr/018-service-credentials.md); TLS towards PostgreSQL is DATABASE_URL's
    # ``sslmode``/``sslrootcert``/``sslcert``/``sslkey``, libpq's own parameters.
    # Several servers of one cluster are separated by commas (nats://n1:4222,nats://n2:4222):
    # the client connects to any of them and moves to another when its server goes away
    # (docs/adr/022-nats-cluster.md).
    nats_url: str = "nats://127.0.0.1:4222"
    # TLS towards NATS: the CA that signed the server's certificate (verified, host name
    # included), and a client certificate and key if the server asks for one. Any of them,
    # or a tls:// URL, turns TLS on.
    nats_tls_ca_file: str | None = None
    nats_tls_cert_file: str | None = None
    nats_tls_key_file: str | None = None
    # Prepended to every subject and the stream name, so test runs sharing a NATS server
    # never see each other's events. Empty in production.
    unimatch_event_prefix: str = ""
    # How long JetStream waits for a consumer's ack before redelivering (JetStream's default;
    # applies when a durable consumer is created). Tests shorten it.
    unimatch_ack_wait_seconds: float = Field(default=30.0, gt=0)
    # The delivery policy (consumers.py, docs/adr/007): a failure that retrying cannot fix
    # dead-letters an event once it has been delivered this many times; an infrastructure
    # failure is retried without limit. Retries wait 0.5 s, 1 s, 2 s ... up to the cap.
    unimatch_event_max_deliveries: int = Field(default=10, ge=1)
    unimatch_event_retry_max_delay_seconds: float = Field(default=60.0, gt=0)
    # Copies JetStream keeps of the event streams and KV buckets, each on another server of
    # the cluster: 1 on a single server, 3 on a three-node cluster (survives one node lost).
    # Every service applies it at start-up, to new and existing streams alike.
    unimatch_stream_replicas: int = Field(default=1, ge=1, le=5)
    log_level: str = "INFO"
    # A session unused this long expires (docs/adr/010); fractions allowed (tests).
    unimatch_session_idle_days: float = Field(default=90, gt=0)
    # Retention (retention.py, docs/adr/007): published outbox rows and inbox rows older than
    # these are deleted, checked at start and every interval.
    unimatch_outbox_retention_days: float = Field(default=7, gt=0)
    unimatch_inbox_retention_days: float = Field(default=EVENT_STREAM_MAX_AGE_DAYS, gt=0)
    unimatch_retention_interval_seconds: float = Field(default=3600, gt=0)
    # Worker processes serving HTTP and consuming events; default: one per CPU.
    unimatch_workers: int = Field(default_factory=default_workers, ge=1)
    # How much lower than a normal process this service's CPU priority is (nice, 0-19): under
    # contention the kernel serves the others first; an idle machine still runs it at full
    # speed. Services off the read path raise it (docs/adr/012).
    cpu_niceness: int = Field(default=0, ge=0, le=19)

    @model_validator(mode="after")
    def _inbox_outlives_redeliveries(self) -> "ServiceSettings":
        floor = max(EVENT_STREAM_MAX_AGE_DAYS, self.unimatch_outbox_retention_days)
        if self.unimatch_inbox_retention_days < floor:
            raise ValueError(
                f"UNIMATCH_INBOX_RETENTION_DAYS must be at least {floor:g}: the event stream"
                f" keeps events {EVENT_STREAM_MAX_AGE_DAYS} days and the outbox may re-publish"
                f" rows {self.unimatch_outbox_retention_days:g} days old, and an event handed"
                " to a consumer again after its inbox row is gone would be applied twice"
            )
        return self

    @model_validator(mode="after")
    def _nats_servers_named(self) -> "ServiceSettings":
        if not nats_servers(self.nats_url):
            raise ValueError("NATS_URL names no server")
        return self

    @property
    def nats_servers(self) -> list[str]:
        """``NATS_URL`` as the client takes it: one URL per server."""
        return nats_servers(self.nats_url)

    @model_validator(mode="after")
    def _client_certificate_whole(self) -> "ServiceSettings":
        if bool(self.nats_tls_cert_file) != bool(self.nats_tls_key_file):
            raise ValueError("NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together")
        return self

    def nats_tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for NATS, or None for a plain connection (nats-py still uses TLS,
        with the system's CAs, for a tls:// URL or a server that requires it)."""
        if not (self.nats_tls_ca_file or self.nats_tls_cert_file):
            return None
        context = ssl.create_default_context(cafile=self.nats_tls_ca_file)
        if self.nats_tls_cert_file and self.nats_tls_key_file:
            context.load_cert_chain(self.nats_tls_cert_file, self.nats_tls_key_file)
        return context

    @property
    def session_idle_seconds(self) -> float:
        return self.unimatch_session_idle_days * 86400

    @property
    def host(self) -> str:
        return self.unimatch_host

    @property
    def workers(self) -> int:
        if self.MAX_WORKERS is None:
            return self.unimatch_workers
        return min(self.unimatch_workers, self.MAX_WORKERS)

    @property
    def sqlalchemy_url(self) -> str:
        """The same server through SQLAlchemy's psycopg 3 driver."""
        url = self.database_url
        for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url[len(scheme) :]
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url!r}")
