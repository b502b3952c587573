"""PostgreSQL access: one schema per service on the shared server, migrations at start-up."""

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

from alembic import command
from alembic.config import Config
from psycopg import AsyncConnection, OperationalError, sql
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import create_engine, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from unimatch_shared.columns import DeletedAccountRow
from unimatch_shared.settings import ServiceSettings

# Per worker process. A request that cannot get a connection within the wait answers 503
# (errors.py) before a client's own timeout, rather than queueing behind a flood.
POOL_SIZE = 5
POOL_OVERFLOW = 5
POOL_WAIT_SECONDS = 2.0


def make_engine(settings: ServiceSettings, schema: str) -> AsyncEngine:
    """An engine whose connections see only this service's schema (and ``public``).

    No pre-ping: it would cost a round trip per checkout. A connection found dead (after a
    database restart) fails its one request with a 503 and makes the pool drop the others.
    Statement parameters (emails, names) are left out of error messages, hence out of logs.
    """
    return create_async_engine(
        settings.sqlalchemy_url,
        hide_parameters=True,
        connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 5},
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_WAIT_SECONDS,
    )


class ReadPool(AsyncConnectionPool):
    """A pool whose first broken connection has it check all the others.

    Connections are not checked when taken (a round trip per request). After a database
    restart every idle one is dead, and each would fail a request of its own; the engine's
    pool drops them all at the first disconnect, and this does the same: the failure's
    request answers 503, and the pool tests its idle connections in the background, so the
    next requests get live ones."""

    _checking: "asyncio.Task[None] | None" = None

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[AsyncConnection]:
        async with super().connection(timeout) as connection:
            try:
                yield connection
            except OperationalError:
                # Only a connection that broke says the others may have: not a wait for a
                # free one that timed out, nor a query error.
                if connection.broken and (self._checking is None or self._checking.done()):
                    self._checking = asyncio.get_running_loop().create_task(self.check())
                raise


def make_read_pool(settings: ServiceSettings, schema: str) -> ReadPool:
    """Plain psycopg connections in autocommit mode for read-only views: a query is one round
    trip (no BEGIN/ROLLBACK around it), its plan prepared once per connection. Unchecked, like
    the engine: a broken connection fails one request (503), and the pool drops the others
    that broke with it (``ReadPool``)."""
    return ReadPool(
        settings.database_url,
        min_size=1,
        max_size=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        kwargs={
            "autocommit": True,
            "options": f"-csearch_path={schema}",
            "connect_timeout": 5,
            "prepare_threshold": 0,
        },
        open=False,
    )


class Repository:
    """A service's queries, on the session of the unit of work that opened it."""

    def __init__(self, session: AsyncSession):
        self.session = session


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def migrations_of(service: str) -> Path:
    """Where a service's Alembic migrations are: ``<service>_service/adapters/db/migrations``."""
    spec = find_spec(f"{service}_service")
    if spec is None or spec.origin is None:
        raise LookupError(f"no package {service}_service")
    return Path(spec.origin).parent / "adapters" / "db" / "migrations"


def run_migrations(
    settings: ServiceSettings, schema: str, migrations_dir: Path, revision: str = "head"
) -> None:
    """Bring this service's schema to the newest Alembic revision (tests stop at an older
    ``revision`` to see a data migration at work).

    An advisory lock keyed by the schema lets two instances start at once safely.
    """
    engine = create_engine(
        settings.sqlalchemy_url, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            # Made here only where no one made it for the service (its own role then owns
            # it, docs/adr/018-service-credentials.md): a role without rights on the
            # database may not even ask for CREATE SCHEMA IF NOT EXISTS.
            if connection.scalar(text("SELECT to_regnamespace(:s)"), {"s": f'"{schema}"'}) is None:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            config = Config()
            config.set_main_option("script_location", str(migrations_dir))
            config.attributes["connection"] = connection
            config.attributes["schema"] = schema
            command.upgrade(config, revision)
    finally:
        engine.dispose()


async def fetch_rows(session: AsyncSession, query: str, params: Sequence[Any] = ()) -> list[Any]:
    """A big read's rows as named tuples straight from psycopg, in the session's transaction:
    SQLAlchemy's per-row result processing costs seconds at 100,000 rows."""
    raw = await _driver_connection(session)
    async with raw.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def copy_rows(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write ``rows`` into ``table`` with COPY, inside the session's transaction.

    For bulk writes (a round's groups, members and events: ~200,000 rows at 100,000 users),
    where ORM objects or one INSERT per row cost seconds: COPY streams them in one statement.
    """
    raw = await _driver_connection(session)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    async with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


async def _driver_connection(session: AsyncSession) -> AsyncConnection:
    """The psycopg connection under the session (its transaction begun, if not yet)."""
    connection = await session.connection()
    driver: AsyncConnection | None = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection always has its driver's
    return driver


async def save_latest(
    session: AsyncSession, row: SQLModel, key: Sequence[str], version: str
) -> None:
    """Insert ``row``, or overwrite the stored row with the same ``key`` columns unless that
    one is newer by ``version`` (an ``occurred_at``): records applied from events that may
    arrive in any order (a block and its lifting, answers, a participant's profile)."""
    model = type(row)
    values = row.model_dump()
    upsert = insert(model).values(**values)
    await session.exec(
        upsert.on_conflict_do_update(
            index_elements=list(key),
            set_={column: upsert.excluded[column] for column in values if column not in key},
            where=getattr(model, version) <= upsert.excluded[version],
        )
    )


# Deleted accounts. Every service that keeps data about people keeps the accounts deleted
# (``DeletedAccountRow``), so an event about one that arrives late does not bring the person
# back. Checking that table and then writing races with a deletion applied at the same moment
# by another consumer (events of different subjects are consumed side by side): the check
# misses the uncommitted deletion and writes after it. So a deletion holds its account's
# advisory lock, and a check shares the locks of the accounts it reads: a check made while a
# deletion runs waits for it and sees it; a deletion made while such a transaction runs waits
# for it, then forgets what it wrote. docs/adr/026-deleted-accounts-under-locks.md.
ACCOUNT_KEY = "hashtext(current_schema() || '.account.' || {})"
LOCK_ACCOUNT = text(f"SELECT pg_advisory_xact_lock({ACCOUNT_KEY.format(':user_id')})")
SHARE_ACCOUNTS = text(
    f"SELECT pg_advisory_xact_lock_shared({ACCOUNT_KEY.format('id')})"
    " FROM unnest(CAST(:user_ids AS bigint[])) AS id"
)


class TracksDeletedAccounts(Repository):
    """A repository of a service keeping the accounts deleted in ``tombstones`` (its
    ``DeletedAccountRow`` table): recording one and checking them, each under the accounts'
    locks."""

    tombstones: ClassVar[type[DeletedAccountRow]]

    async def record_deleted(self, user_id: int, deleted_at: datetime) -> None:
        """Start forgetting an account: hold its lock until the transaction ends (waiting for
        the transactions that checked it), and record it as deleted."""
        connection = await self.session.connection()  # (sqlmodel's session warns on text)
        await connection.execute(LOCK_ACCOUNT, {"user_id": user_id})
        await self.session.exec(
            insert(self.tombstones)
            .values(user_id=user_id, deleted_at=deleted_at)
            .on_conflict_do_nothing()
        )

    async def deleted_among(self, user_ids: Iterable[int]) -> set[int]:
        """Which of these accounts were deleted, the answer holding until the transaction
        ends: their locks are shared meanwhile (in one order), so no deletion of one of them
        interleaves."""
        ids = sorted(set(user_ids))
        connection = await self.session.connection()
        await connection.execute(SHARE_ACCOUNTS, {"user_ids": ids})
        query = select(self.tombstones.user_id).where(col(self.tombstones.user_id).in_(ids))
        return set((await self.session.exec(query)).all())

    async def is_deleted(self, user_id: int) -> bool:
        """``deleted_among`` for one account."""
        return bool(await self.deleted_among([user_id]))
