"""What creating, dropping and opening a client on a database share: the maintenance connection to
the server, the database's name, its stamp, and errors translated. See services.dbadmin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from backend.app.core.db_errors import translating
from backend.app.errors import (
    AppError,
    DatabaseUnreachable,
    InvalidInput,
    quote,
)

if TYPE_CHECKING:
    from backend.app.core.database import Database
    from backend.app.core.urls import DatabaseUrl
    from backend.app.repositories.schema import Stamp
    from backend.app.services.context import ServiceContext


# Where CREATE and DROP DATABASE run: libpq's createdb tries `postgres`, then `template1`.
MAINTENANCE_DATABASES = ("postgres", "template1")
UNDROPPABLE = (*MAINTENANCE_DATABASES, "template0")
MAX_NAME_BYTES = 63  # PostgreSQL silently truncates longer identifiers
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
READ_ONLY_OPTION = "-c default_transaction_read_only=on"
APPLICATION_NAME = "backend db.shell"

# SQLSTATEs this module answers itself rather than as generic database failures.
_DUPLICATE_DATABASE = "42P04"
_INSUFFICIENT_PRIVILEGE = "42501"
_OBJECT_IN_USE = "55006"

ClientName = Literal["psql", "sqlite3"]


@dataclass(frozen=True)
class Lifecycle:
    """What creating or dropping did (or, under a dry run, would do)."""

    action: Literal["create", "drop"]
    engine: str
    name: str  # the PostgreSQL database's name, or the SQLite file
    where: str  # the masked URL of the database
    changed: bool  # False: it already existed (create) or was already gone (drop)
    dry_run: bool
    files: tuple[str, ...] = ()  # SQLite: the files removed, or that would be


# -- shared -------------------------------------------------------------------------------------


async def _stamp(ctx: ServiceContext) -> Stamp | None:
    """The database's profile stamp (see repositories.schema); None on a database without one."""
    from backend.app.services.uow import uow

    async with uow(ctx, write=False) as u:
        return await u.read_stamp()


def _lifecycle(
    database: Database,
    action: Literal["create", "drop"],
    name: str,
    *,
    changed: bool,
    files: tuple[str, ...] = (),
) -> Lifecycle:
    return Lifecycle(
        action=action,
        engine=database.dialect,
        name=name,
        where=database.where,
        changed=changed,
        dry_run=database.dry_run,
        files=files,
    )


def _sqlite_file(database: Database) -> Path:
    path = database.sqlite_path
    assert path is not None
    return path if path.is_absolute() else Path.cwd() / path


def _database_name(url: DatabaseUrl) -> str:
    if not url.database:
        raise InvalidInput(
            "the database URL names no database (write postgresql://user@host/NAME)",
            field="database_url",
        )
    if len(url.database.encode()) > MAX_NAME_BYTES:
        raise InvalidInput(
            f"the database name {quote(url.database)} is longer than PostgreSQL's "
            f"{MAX_NAME_BYTES} bytes",
            field="database_url",
        )
    return url.database


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@asynccontextmanager
async def _maintenance(database: Database) -> AsyncIterator[Any]:
    """A connection (asyncpg's, outside any transaction) to the server's maintenance database,
    with the URL's credentials and TLS settings."""
    import asyncpg

    url = database.url
    where = database.where
    args: dict[str, Any] = {
        "timeout": database.settings.database_connect_timeout,
        **url.connect_args(),
    }
    args.setdefault("server_settings", {}).setdefault("application_name", "backend")
    # Nothing to collide with behind a transaction-mode pooler (see core.database).
    args["statement_cache_size"] = 0
    login = {"host": url.host, "port": url.port, "user": url.user, "password": url.password}
    conn = None
    for name in MAINTENANCE_DATABASES:
        try:
            conn = await asyncpg.connect(database=name, **login, **args)
            break
        except asyncpg.InvalidCatalogNameError:
            continue
        except Exception as error:
            raise _translated(error, where) from None
    if conn is None:
        raise DatabaseUnreachable(
            f"the server has none of the maintenance databases "
            f"{' and '.join(MAINTENANCE_DATABASES)} to connect to ({_server(url)})"
        )
    try:
        yield conn
    finally:
        try:
            await conn.close(timeout=5)
        except Exception:
            conn.terminate()


def _server(url: DatabaseUrl) -> str:
    return replace(url, database=None, params={}).masked()


async def _exists(server: Any, name: str, where: str) -> bool:
    with translating(where):
        found = await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    return found is not None


def _sqlstate(error: BaseException) -> str | None:
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def _translated(error: Exception, where: str) -> Exception:
    """The AppError for a database failure, or the error itself when it is not one."""
    if isinstance(error, AppError):
        return error
    from backend.app.core.db_errors import classify_error

    return classify_error(error, where) or error
