"""The database of one program run: its engines, its connections, and the dry-run transaction.

SQLite (aiosqlite): foreign keys on, a real BEGIN (the driver's legacy mode would not issue one
before SELECT or DDL), WAL and a busy timeout; writers take the lock up front with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing on upgrade. New
files are private (0600, in a 0700 folder): they hold password hashes and key digests.

PostgreSQL (asyncpg) is the production engine, often behind PgBouncer in transaction pooling
mode, where a server connection is shared between clients from one transaction to the next:
asyncpg's named prepared statements would collide there, so by default its statement caches are
off (``database_statement_cache`` turns them back on for deployments that connect directly).

Under a dry run every unit of work of the run shares one connection per database, inside one
transaction that :meth:`Database.finish` rolls back: a chain sees its own would-be changes and
none of them is ever committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

from backend.app.core.db_errors import classify_error, translating
from backend.app.core.hot_path import Prepared, Reader, Readers
from backend.app.core.urls import parse_database_url
from backend.app.errors import AppError, DatabaseUnreachable, InvalidInput, SchemaNotReady

if TYPE_CHECKING:
    from backend.app.core.settings import Settings

_BEGIN_OPTION = "sqlite_begin"
# Connections of the pool for units of work, and at most as many kept for hot-path reads, so a
# process serves as many concurrent lookups as it has connections for writes.
POOL_SIZE = 8


def require_url(settings: Settings) -> str:
    if not settings.database_url:
        raise InvalidInput(
            "no database is configured: set APP_DATABASE_URL, or database_url in the profile"
        )
    return settings.database_url


def create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only (and a private folder for it)."""
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise DatabaseUnreachable(
            f"cannot create the SQLite database {path}: {error.strerror}"
        ) from None


class Database:
    """The engine(s) of one run, connections for units of work, and driver error translation."""

    def __init__(self, settings: Settings, *, dry_run: bool = False) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.url = parse_database_url(require_url(settings))
        self.where = self.url.masked()
        self._on_postgres = self.url.engine == "postgresql"
        self._engines: dict[tuple[bool, bool], AsyncEngine] = {}
        self._shared: AsyncConnection | None = None
        self._reader: AsyncConnection | None = None
        # SQLite's shared reader, one statement at a time: concurrent callers would otherwise
        # each open a reader and leak all but one (aiosqlite serialises the calls anyway).
        self._reader_lock = asyncio.Lock()
        self._prepared: dict[Select[*tuple[Any, ...]], Prepared] = {}
        self._read_engine: AsyncEngine | None = None
        self._readers: Readers | None = None

    @property
    def dialect(self) -> str:
        return self.url.engine

    @property
    def sqlite_path(self) -> Path | None:
        return self.url.path

    def exists(self) -> bool:
        """False only for a SQLite file that is not there yet."""
        path = self.url.path
        return path is None or path.exists()

    # -- engines ---------------------------------------------------------------------------------

    def engine(self, *, create: bool = False, foreign_keys: bool = True) -> AsyncEngine:
        """The engine for ordinary work (or, ``foreign_keys=False``, for SQLite migrations)."""
        key = (create, foreign_keys)
        if key not in self._engines:
            self._engines[key] = self._make_engine(create=create, foreign_keys=foreign_keys)
        return self._engines[key]

    def _make_engine(self, *, create: bool, foreign_keys: bool) -> AsyncEngine:
        if self.url.engine == "postgresql":
            return self._postgres_engine()
        path = self.url.path
        assert path is not None
        if self.dry_run and not path.exists():
            # Nothing may be created under a dry run: an empty database in memory behaves as
            # the new file would.
            return _sqlite_engine(self.settings, "sqlite+aiosqlite://", foreign_keys, memory=True)
        if create:
            create_private_file(path)
        elif not path.exists():
            raise SchemaNotReady(f"there is no database at {path} yet")
        return _sqlite_engine(self.settings, self.url.sqlalchemy_url(), foreign_keys, wal=create)

    def _postgres_engine(self, *, pool_size: int = POOL_SIZE, max_overflow: int = 4) -> AsyncEngine:
        connect_args: dict[str, Any] = {
            "timeout": self.settings.database_connect_timeout,
            **self.url.connect_args(),
        }
        connect_args.setdefault("server_settings", {}).setdefault("application_name", "backend")
        if not self.settings.database_statement_cache:
            # Safe behind a transaction-mode pooler: asyncpg prepares unnamed statements only,
            # nothing to find missing (or already there) on the next server connection. Both
            # caches go: SQLAlchemy's alone would keep a statement's old result types after a
            # column changed type elsewhere; unique names instead leave statements piling up
            # on the pooler's server connections (tests/integration/test_pgbouncer_driver.py).
            connect_args["statement_cache_size"] = 0
            connect_args["prepared_statement_cache_size"] = 0
        return create_async_engine(
            self.url.sqlalchemy_url(),
            hide_parameters=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args=connect_args,
        )

    # -- connections -----------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A connection for one unit of work: not in a transaction yet, or (dry run) the run's
        shared connection, already inside the transaction that will be rolled back."""
        if self.dry_run:
            yield await self._shared_connection()
            return
        with translating(self.where):
            async with self.engine().connect() as conn:
                yield await _for_writing(conn) if write else conn

    @asynccontextmanager
    async def migration_connection(self, *, create: bool) -> AsyncIterator[AsyncConnection]:
        """A connection for migrations: SQLite foreign keys off (a batch copy of a parent table
        would cascade-delete its children), the write lock taken at BEGIN."""
        if self.dry_run:
            yield await self._shared_connection()
            return
        with translating(self.where):
            engine = self.engine(create=create, foreign_keys=False)
            async with engine.connect() as conn:
                yield await _for_writing(conn)

    async def _shared_connection(self) -> AsyncConnection:
        if self._shared is None:
            with translating(self.where):
                # Foreign keys stay off for the whole dry run on SQLite, since a chain may
                # migrate and the pragma cannot change inside a transaction; units of work
                # check them before they end instead (see services.uow).
                conn = await self.engine(foreign_keys=self.dialect != "sqlite").connect()
                await conn.begin()
                self._shared = conn
        return self._shared

    @property
    def checks_foreign_keys_late(self) -> bool:
        return self.dry_run and self.dialect == "sqlite"

    async def read_first(
        self, statement: Select[*tuple[Any, ...]], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of a read-only ``statement``, as a mapping; for hot paths.

        Runs outside any transaction: one statement is consistent by itself. The statement is
        compiled once and runs straight on the driver (see core.hot_path): on PostgreSQL on one
        of up to POOL_SIZE connections kept for reads, so concurrent callers run in parallel; on
        SQLite on the one connection kept open for the life of this Database.
        """
        # translating() spelled out: its context manager costs a tenth of a lookup.
        try:
            if self.dry_run:
                result = await (await self._shared_connection()).execute(statement, params)
                return _mapping(result.mappings().first())
            if self._on_postgres:
                return await self._read_first_postgres(statement, params)
            async with self._reader_lock:
                return await self._read_first_sqlite(statement, params)
        except AppError:
            raise
        except Exception as error:
            mapped = classify_error(error, self.where)
            if mapped is None:
                raise
            raise mapped from error

    def _prepare(self, statement: Select[*tuple[Any, ...]], dialect: Any) -> Prepared:
        prepared = self._prepared.get(statement)
        if prepared is None:
            prepared = self._prepared[statement] = Prepared.of(statement, dialect)
        return prepared

    async def _read_first_postgres(
        self, statement: Select[*tuple[Any, ...]], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        readers = self._readers
        if readers is None:
            # An engine of its own, so that reads never wait for (nor starve) units of work.
            engine = self._read_engine = self._postgres_engine(max_overflow=0)
            readers = self._readers = Readers(
                lambda: engine.connect().start(),
                POOL_SIZE,
                hold=self.settings.database_statement_cache,
            )
        for again in (False, True):
            reader = readers.take() or await readers.acquire()
            try:
                prepared = self._prepared.get(statement) or self._prepare(
                    statement, reader.connection.dialect
                )
                row = await reader.fetchrow(prepared.sql, prepared.bind(params))
            except Exception as error:
                if not reader.driver.is_closed():
                    readers.release(reader)
                    raise
                await _discard(readers, reader)
                if again:
                    raise DatabaseUnreachable(
                        f"lost the connection to the database ({self.where})"
                    ) from error
                continue  # the connection died under the statement: a read can run again
            except BaseException:
                # Interrupted mid-statement: the connection may still owe the server a reply.
                await _discard(readers, reader)
                raise
            readers.release(reader)
            return None if row is None else prepared.row(row)
        raise AssertionError("unreachable")

    async def _read_first_sqlite(
        self, statement: Select[*tuple[Any, ...]], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        if self._reader is None:
            conn = await self.engine().connect()
            self._reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
        prepared = self._prepare(statement, self._reader.dialect)
        raw = await self._reader.get_raw_connection()
        rows = await raw.driver_connection.execute_fetchall(  # type: ignore[union-attr]
            prepared.sql, prepared.bind(params)
        )
        return prepared.row(rows[0]) if rows else None

    async def finish(self) -> None:
        """Roll back a dry run's transaction and close every connection and engine."""
        try:
            if self._shared is not None:
                shared, self._shared = self._shared, None
                try:
                    await shared.rollback()
                finally:
                    await shared.close()
            if self._reader is not None:
                reader, self._reader = self._reader, None
                await reader.close()
            if self._readers is not None:
                readers, self._readers = self._readers, None
                await readers.close()
        finally:
            engines, self._engines = list(self._engines.values()), {}
            if self._read_engine is not None:
                engines.append(self._read_engine)
                self._read_engine = None
            for engine in engines:
                await engine.dispose()


async def _discard(readers: Readers, reader: Reader) -> None:
    with contextlib.suppress(Exception):  # the statement's own error is the one to report
        await readers.discard(reader)


def _mapping(row: Any) -> Mapping[str, Any] | None:
    """A RowMapping (or None), which SQLAlchemy's stubs type loosely."""
    found: Mapping[str, Any] | None = row
    return found


async def _for_writing(conn: AsyncConnection) -> AsyncConnection:
    if conn.dialect.name == "sqlite":
        return await conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return conn


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_engine(
    settings: Settings, url: str, foreign_keys: bool, *, wal: bool = False, memory: bool = False
) -> AsyncEngine:
    busy_ms = int(settings.database_busy_timeout_ms)
    # A pool for a file, as SQLAlchemy >= 2.0.38 gives one anyway (older ones used NullPool).
    extra: dict[str, Any] = {"poolclass": StaticPool if memory else AsyncAdaptedQueuePool}
    engine = create_async_engine(
        url, hide_parameters=True, connect_args={"timeout": busy_ms / 1000}, **extra
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; `_on_begin` issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
        # SQLite's own lower() folds ASCII only, so ILIKE (lower() on both sides) would not
        # find "Zoë" when searching "ZOË". Python's is Unicode-aware.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
