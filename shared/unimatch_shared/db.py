"""PostgreSQL access: one schema per service on the shared server, migrations at start-up."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.settings import ServiceSettings


def make_engine(settings: ServiceSettings, schema: str) -> AsyncEngine:
    """An engine whose connections see only this service's schema (and ``public``)."""
    return create_async_engine(
        settings.sqlalchemy_url,
        connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 5},
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def run_migrations(settings: ServiceSettings, schema: str, migrations_dir: Path) -> None:
    """Bring this service's schema to the newest Alembic revision.

    An advisory lock keyed by the schema lets two instances start at once safely.
    """
    engine = create_engine(
        settings.sqlalchemy_url, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            config = Config()
            config.set_main_option("script_location", str(migrations_dir))
            config.attributes["connection"] = connection
            config.attributes["schema"] = schema
            command.upgrade(config, "head")
    finally:
        engine.dispose()
