"""The SQLAlchemy engines of :class:`backend.app.core.database.Database`, SQLite and PostgreSQL.

SQLite (aiosqlite): foreign keys on, a real BEGIN (the driver's legacy mode would not issue one
before SELECT or DDL), WAL and a busy timeout; writers take the lock up front with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing on upgrade. New
files are private (0600, in a 0700 folder): they hold password hashes and key digests.

PostgreSQL (asyncpg) is the production engine, often behind PgBouncer in transaction pooling
mode, where a server connection is shared between clients from one transaction to the next:
asyncpg's named prepared statements would collide there, so by default its statement caches are
off (``database_statement_cache`` turns them back on for deployments that connect directly).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

from backend.app.errors import DatabaseUnreachable

if TYPE_CHECKING:
    from backend.app.core.settings import Settings
    from backend.app.core.urls import DatabaseUrl

_BEGIN_OPTION = "sqlite_begin"
# Connections of the pool for units of work, and at most as many kept for hot-path reads, so a
# process serves as many concurrent lookups as it has connections for writes.
POOL_SIZE = 8


def create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only (and a private folder for it)."""
    try:
        # Every folder it creates is private, not only the last (mkdir's parents get the umask).
        for folder in reversed([path.parent, *path.parent.parents]):
            if not folder.is_dir():
                folder.mkdir(mode=0o700, exist_ok=True)  # a racing process may make it too
        # Another process may make it first: it is as private as ours.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise DatabaseUnreachable(
            f"cannot create the SQLite database {path}: {error.strerror}"
        ) from None


def postgres_engine(
    settings: Settings, url: DatabaseUrl, *, pool_size: int = POOL_SIZE, max_overflow: int = 4
) -> AsyncEngine:
    connect_args: dict[str, Any] = {
        "timeout": settings.database_connect_timeout,
        **url.connect_args(),
    }
    connect_args.setdefault("server_settings", {}).setdefault("application_name", "backend")
    if not settings.database_statement_cache:
        # Safe behind a transaction-mode pooler: asyncpg prepares unnamed statements only,
        # nothing to find missing (or already there) on the next server connection. Both
        # caches go: SQLAlchemy's alone would keep a statement's old result types after a
        # column changed type elsewhere; unique names instead leave statements piling up
        # on the pooler's server connections (tests/integration/test_pgbouncer_driver.py).
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
    return create_async_engine(
        url.sqlalchemy_url(),
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )


def sqlite_engine(
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
                _switch_to_wal(cursor, busy_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
        # SQLite's own lower() folds ASCII only, so ILIKE (lower() on both sides) would not
        # find "Zoë" when searching "ZOË". Python's is Unicode-aware.
        dbapi_connection.create_function("lower", 1, sqlite_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _switch_to_wal(cursor: Any, busy_ms: int) -> None:
    """``PRAGMA journal_mode = WAL``, retried within the busy timeout: the switch takes an
    exclusive lock for a moment, and SQLite answers "database is locked" at once, without its busy
    handler, to a second connection that asks meanwhile (two first upgrades of a new file)."""
    import asyncio
    import time

    from sqlalchemy.util import await_only

    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as error:
            if "database is locked" not in str(error) or time.monotonic() >= deadline:
                raise
        await_only(asyncio.sleep(0.02))  # on the event loop: the other connection goes on


async def for_writing(conn: AsyncConnection) -> AsyncConnection:
    """``conn``, set to take SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``)."""
    if conn.dialect.name == "sqlite":
        return await conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return conn


def sqlite_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value
