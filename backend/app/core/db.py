"""The async engine and transactions, one engine per task run.

SQLite (aiosqlite): foreign keys on, a real BEGIN (the driver's legacy mode would not issue one
before SELECT or DDL), WAL and a busy timeout. Writers take the lock up front with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing on upgrade.
PostgreSQL (asyncpg) is the production engine.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.app.core.redaction import mask_url
from backend.app.core.settings import sqlite_path
from backend.app.errors import (
    AppError,
    Conflict,
    DatabaseUnreachable,
    InvalidInput,
    SchemaNotReady,
)

if TYPE_CHECKING:
    from backend.app.core.settings import Settings

_BEGIN_OPTION = "sqlite_begin"


def require_url(settings: Settings) -> str:
    if not settings.database_url:
        raise InvalidInput(
            "database_url is not set for this profile: set APP_DATABASE_URL "
            "(or database_url in the profile)"
        )
    return settings.database_url


def create_engine(
    settings: Settings, *, create: bool = False, foreign_keys: bool = True
) -> AsyncEngine:
    """Create the engine for one task run; the caller disposes it before its loop closes.

    With ``create=False`` a missing SQLite file is not created: the task gets SchemaNotReady.
    ``foreign_keys=False`` is for migrations (SQLite batch mode would cascade-delete child rows).
    """
    url = require_url(settings)
    if settings.is_sqlite:
        return _sqlite_engine(settings, url, create=create, foreign_keys=foreign_keys)
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_size=2,
        max_overflow=2,
        connect_args={
            "timeout": settings.database_connect_timeout,
            "server_settings": {"application_name": "backend"},
        },
    )


def _sqlite_engine(
    settings: Settings, url: str, *, create: bool, foreign_keys: bool
) -> AsyncEngine:
    path = sqlite_path(url)
    assert path is not None
    if create:
        if not path.parent.is_dir():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUnreachable(
                    f"cannot create {path.parent} for the SQLite database: {error.strerror}"
                ) from None
    elif not path.exists():
        raise SchemaNotReady(f"no database at {path} yet: run `inv db.upgrade` first")
    busy_ms = settings.database_busy_timeout_ms
    engine = create_async_engine(
        url, hide_parameters=True, connect_args={"timeout": busy_ms / 1000}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; `_on_begin` issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            if create:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine, but transactions take SQLite's write lock at BEGIN."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return engine


class Database:
    """The engine of one task run, its sessions, and translation of driver errors."""

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        self.settings = settings
        self._create = create
        self._engine: AsyncEngine | None = None
        self._reader: AsyncConnection | None = None
        # SQLite's shared reader, one statement at a time: concurrent callers would otherwise
        # each open a reader and leak all but one (aiosqlite serialises the calls anyway).
        self._reader_lock = asyncio.Lock()
        self._prepared: dict[Select[Any], _Prepared] = {}

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_engine(self.settings, create=self._create)
        return self._engine

    @property
    def dialect(self) -> str:
        return "sqlite" if self.settings.is_sqlite else "postgresql"

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any error."""
        bind = writer(self.engine) if write else self.engine
        maker = async_sessionmaker(bind, expire_on_commit=False, autoflush=False)
        with translate_errors(self.settings):
            async with maker() as session, session.begin():
                yield session

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        with translate_errors(self.settings):
            async with self.engine.connect() as conn:
                yield conn

    async def read_first(
        self, statement: Select[Any], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of a read-only ``statement``, as a mapping; for hot paths.

        Runs outside any transaction: one statement is consistent by itself. On PostgreSQL it
        takes a pooled connection per call, so concurrent callers run in parallel. On SQLite the
        statement, compiled once, goes straight to the driver in one call on a connection kept
        open for the life of this Database: aiosqlite runs each cursor operation on its own
        thread, and the five round trips SQLAlchemy's adapter makes cost far more than the query
        (the driver serialises calls on that connection anyway, so a lock costs nothing).
        """
        if self.dialect != "sqlite":
            with translate_errors(self.settings):
                autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
                async with autocommit.connect() as conn:
                    result = await conn.execute(statement, params)
                    first: Mapping[str, Any] | None = result.mappings().first()
                    return first
        async with self._reader_lock:
            return await self._read_first_sqlite(statement, params)

    async def _read_first_sqlite(
        self, statement: Select[Any], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        with translate_errors(self.settings):
            if self._reader is None:
                conn = await self.engine.connect()
                self._reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
            prepared = self._prepared.get(statement)
            if prepared is None:
                prepared = self._prepared[statement] = _Prepared.of(statement, self.engine)
            raw = await self._reader.get_raw_connection()
            rows = await raw.driver_connection.execute_fetchall(  # type: ignore[union-attr]
                prepared.sql, prepared.bind(params)
            )
            return prepared.row(rows[0]) if rows else None

    async def dispose(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once for SQLite, with the type conversions SQLAlchemy would apply."""

    sql: str
    names: tuple[str, ...]
    bind_processors: tuple[Callable[[Any], Any] | None, ...]
    keys: tuple[str, ...]
    result_processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: Select[Any], engine: AsyncEngine) -> _Prepared:
        dialect = engine.dialect
        compiled: Any = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        columns = compiled._result_columns
        return cls(
            sql=compiled.string,
            names=names,
            bind_processors=tuple(processors.get(name) for name in names),
            keys=tuple(column.keyname for column in columns),
            result_processors=tuple(
                column.type._cached_result_processor(dialect, None) for column in columns
            ),
        )

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if fn is None else fn(params[name])
            for name, fn in zip(self.names, self.bind_processors, strict=True)
        ]

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        return {
            key: value if fn is None else fn(value)
            for key, fn, value in zip(self.keys, self.result_processors, values, strict=True)
        }


class translate_errors:
    """Turn driver and SQLAlchemy errors into the error hierarchy (exit 6/7/...)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> translate_errors:
        return self

    def __exit__(self, _type: Any, error: BaseException | None, _tb: Any) -> None:
        if error is None or isinstance(error, AppError):
            return
        mapped = classify_error(error, mask_url(self.settings.database_url or ""))
        if mapped is not None:
            raise mapped from error


def classify_error(error: BaseException, where: str) -> AppError | None:
    """Map a database failure to an AppError, or None when it is not one we recognise.

    ``where`` names the database in messages; it must already be masked.
    """
    if isinstance(error, exc.DBAPIError):
        return _classify_dbapi(error.orig, where, invalidated=error.connection_invalidated)
    if isinstance(error, sqlite3.Error):
        return _classify_dbapi(error, where, invalidated=False)
    if isinstance(error, socket.gaierror):
        return DatabaseUnreachable(f"cannot resolve the database host ({where})")
    if isinstance(error, ConnectionRefusedError):
        return DatabaseUnreachable(f"connection refused by the database server ({where})")
    if isinstance(error, TimeoutError):
        return DatabaseUnreachable(f"timed out connecting to the database ({where})")
    if isinstance(error, ConnectionError | OSError) and not isinstance(error, FileNotFoundError):
        reason = error.strerror or type(error).__name__
        return DatabaseUnreachable(f"cannot reach the database ({where}): {reason}")
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _classify_sqlstate(sqlstate, where, type(error).__name__)
    return None


def _classify_dbapi(
    orig: BaseException | None, where: str, *, invalidated: bool
) -> AppError | None:
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        cause = getattr(orig, "__cause__", None)
        name = type(cause).__name__ if cause is not None else type(orig).__name__
        mapped = _classify_sqlstate(sqlstate, where, name)
        if mapped is not None:
            return mapped
    message = str(orig).lower() if orig is not None else ""
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if isinstance(candidate, OSError):
            return classify_error(candidate, where)
    if "unable to open database file" in message:
        return DatabaseUnreachable(f"cannot open the SQLite database ({where})")
    if "no such table" in message:
        return SchemaNotReady(
            f"the database has no schema yet or is out of date ({where}): run `inv db.upgrade`"
        )
    if "database is locked" in message or "database is busy" in message:
        return DatabaseUnreachable(
            f"the SQLite database stayed locked past the busy timeout ({where}); "
            "another process is writing to it"
        )
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_READONLY_DIRECTORY":
        # A WAL database cannot even be read without creating its -shm file beside it.
        return DatabaseUnreachable(
            f"the SQLite database's folder is read-only, nothing was written ({where}): "
            "in WAL mode SQLite must create its -wal and -shm files there, even to read"
        )
    if "readonly database" in message or "read-only" in message:
        return DatabaseUnreachable(f"the database is read-only, nothing was written ({where})")
    if "disk i/o error" in message or "file is not a database" in message:
        return DatabaseUnreachable(f"cannot read the SQLite database ({where}): {message}")
    if invalidated:
        return DatabaseUnreachable(f"lost the connection to the database ({where})")
    return None


def _classify_sqlstate(sqlstate: str, where: str, name: str) -> AppError | None:
    if sqlstate == "3D000":
        return DatabaseUnreachable(f"the database does not exist ({where})")
    if sqlstate in ("28000", "28P01"):
        return DatabaseUnreachable(f"the database refused the login ({where})")
    if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03"):
        return DatabaseUnreachable(f"lost or could not open the database connection ({where})")
    if sqlstate == "42P01":
        return SchemaNotReady(
            f"the database has no schema yet or is out of date ({where}): run `inv db.upgrade`"
        )
    if sqlstate in ("40001", "40P01"):
        return Conflict(f"the change collided with a concurrent one and was rolled back ({name})")
    if sqlstate == "25006":
        return DatabaseUnreachable(f"the database is read-only, nothing was written ({where})")
    return None


def file_exists(settings: Settings) -> bool | None:
    """For SQLite, whether the file exists; None for a server database."""
    path = sqlite_path(settings.database_url)
    return None if path is None else Path(path).exists()


def is_unique_violation(error: exc.IntegrityError) -> bool:
    """Whether an IntegrityError is a duplicate key (rather than, say, a check constraint)."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    message = str(orig).lower()
    return "unique constraint failed" in message or "duplicate key" in message
