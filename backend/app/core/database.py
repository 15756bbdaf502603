"""The database of one program run: its engines, its connections, and the dry-run transaction.

Engine construction (SQLite pragmas and private files, PostgreSQL behind a pooler) is in
:mod:`backend.app.core.engines`; the hot-path reader machinery in :mod:`backend.app.core.hot_path`.

Under a dry run every unit of work of the run shares one connection per database, inside one
transaction that :meth:`Database.finish` rolls back: a chain sees its own would-be changes and
none of them is ever committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app.core import collector
from backend.app.core.db_errors import classify_error, translating
from backend.app.core.engines import (
    POOL_SIZE,
    create_private_file,
    for_writing,
    postgres_engine,
    sqlite_engine,
)
from backend.app.core.hot_path import Prepared, Reader, Readers
from backend.app.core.sqlite_inline import InlineReader
from backend.app.core.urls import parse_database_url
from backend.app.errors import AppError, DatabaseUnreachable, InvalidInput, SchemaNotReady

if TYPE_CHECKING:
    from backend.app.core.settings import Settings

# POOL_SIZE and create_private_file live in core.engines; importers keep finding them here.
__all__ = ["POOL_SIZE", "Database", "create_private_file", "require_url"]


def require_url(settings: Settings) -> str:
    if not settings.database_url:
        raise InvalidInput(
            "no database is configured: set APP_DATABASE_URL, or database_url in the profile"
        )
    return settings.database_url


class Database:
    """The engine(s) of one run, connections for units of work, and driver error translation."""

    def __init__(self, settings: Settings, *, dry_run: bool = False) -> None:
        collector.resume()  # the database stack is loaded: collect garbage again (see there)
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
        # SQLite's hot reads, on the event loop's thread while they need not wait (a file only:
        # a database in memory lives in its one connection).
        path = self.url.path if self.url.engine == "sqlite" and not dry_run else None
        self._inline = InlineReader(path) if path is not None else None

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
            return postgres_engine(self.settings, self.url)
        path = self.url.path
        assert path is not None
        if self.dry_run and not path.exists():
            # Nothing may be created under a dry run: an empty database in memory behaves as
            # the new file would.
            return sqlite_engine(self.settings, "sqlite+aiosqlite://", foreign_keys, memory=True)
        if create:
            create_private_file(path)
        elif not path.exists():
            raise SchemaNotReady(f"there is no database at {path} yet")
        return sqlite_engine(self.settings, self.url.sqlalchemy_url(), foreign_keys, wal=create)

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
                yield await for_writing(conn) if write else conn

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
                yield await for_writing(conn)

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
        SQLite in this thread while SQLite need not wait (see core.sqlite_inline), else on the
        one aiosqlite connection kept open for the life of this Database.
        """
        # translating() spelled out: its context manager costs a tenth of a lookup.
        try:
            if self.dry_run:
                result = await (await self._shared_connection()).execute(statement, params)
                return _mapping(result.mappings().first())
            if self._on_postgres:
                return await self._read_first_postgres(statement, params)
            prepared = self._prepared.get(statement) or self._prepare(
                statement, self.engine().dialect
            )
            if self._inline is not None:
                rows = self._inline.fetchall(prepared.sql, prepared.bind(params))
                if rows is not None:
                    return prepared.row(rows[0]) if rows else None
            async with self._reader_lock:
                return await self._read_first_sqlite(prepared, params)
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
            engine = self._read_engine = postgres_engine(self.settings, self.url, max_overflow=0)
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
        self, prepared: Prepared, params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """On aiosqlite's thread: what the inline reader could not run without waiting."""
        if self._reader is None:
            conn = await self.engine().connect()
            self._reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
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
            if self._inline is not None:
                self._inline.close()
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
