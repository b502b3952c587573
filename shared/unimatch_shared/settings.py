"""Settings every service reads from the environment (CONTRACT.md section 4)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and adds its own fields."""

    # Empty variables (compose passes `${VAR:-}`) mean "use the default".
    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    host: str = "0.0.0.0"
    port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:5432/unimatch"
    nats_url: str = "nats://127.0.0.1:4222"
    # Prepended to every subject and the stream name, so test runs sharing a NATS server
    # never see each other's events. Empty in production.
    unimatch_event_prefix: str = ""
    log_level: str = "INFO"

    @property
    def sqlalchemy_url(self) -> str:
        """The same server through SQLAlchemy's psycopg 3 driver."""
        url = self.database_url
        for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url[len(scheme) :]
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url!r}")
