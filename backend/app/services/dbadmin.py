"""The database itself as a thing on a server: create it, drop it, and open a client on it.

Creating and dropping are not units of work. PostgreSQL runs CREATE DATABASE and DROP DATABASE
outside any transaction, on a connection to the server's maintenance database; for SQLite they
are file operations. So a dry run cannot roll them back: it looks (does the database exist, may
it be dropped?) and says what it would do, and does nothing.

A client session (``psql``, ``sqlite3``) is read-only on a protected database unless writing is
asked for. The password reaches ``psql`` the way libpq reads it, as a password file, never on a
command line: on Linux a file that lives only in memory (``memfd_create``) handed to the child
as a file descriptor, elsewhere a private temporary file removed when the session ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.app.core.database import create_private_file
from backend.app.core.guards import ALLOW_DESTRUCTIVE, require_unprotected
from backend.app.errors import (
    ConfirmationRequired,
    Conflict,
    DatabaseUnreachable,
    Refused,
)
from backend.app.services.dbserver import (
    _DUPLICATE_DATABASE,
    _INSUFFICIENT_PRIVILEGE,
    _OBJECT_IN_USE,
    SQLITE_HEADER,
    SQLITE_SIDECARS,
    UNDROPPABLE,
    Lifecycle,
    _database_name,
    _exists,
    _identifier,
    _lifecycle,
    _maintenance,
    _sqlite_file,
    _sqlstate,
    _stamp,
    _translated,
)

if TYPE_CHECKING:
    from backend.app.core.database import Database
    from backend.app.services.context import ServiceContext


# -- create -------------------------------------------------------------------------------------


async def create_database(ctx: ServiceContext) -> Lifecycle:
    """Create the configured database unless it exists ("unchanged" then).

    PostgreSQL: the database named in the URL, on its server, owned by the URL's user. SQLite:
    an empty file readable by its owner only, in a private folder if the folder is missing.
    """
    database = ctx.database
    if database.dialect == "sqlite":
        return _create_sqlite(database)
    name = _database_name(database.url)
    async with _maintenance(database) as server:
        exists = await _exists(server, name, database.where)
        if exists or database.dry_run:
            return _lifecycle(database, "create", name, changed=not exists)
        try:
            await server.execute(f"CREATE DATABASE {_identifier(name)}")
        except Exception as error:
            state = _sqlstate(error)
            if state == _DUPLICATE_DATABASE:  # created by someone else since we looked
                return _lifecycle(database, "create", name, changed=False)
            if state == _INSUFFICIENT_PRIVILEGE:
                raise Refused(
                    f"the server refused to create the database {name}: permission denied "
                    f"(the user needs the CREATEDB privilege) ({database.where})"
                ) from None
            raise _translated(error, database.where) from None
    # Nothing of the run may keep a connection from before the database existed.
    await database.finish()
    return _lifecycle(database, "create", name, changed=True)


def _create_sqlite(database: Database) -> Lifecycle:
    path = _sqlite_file(database)
    if path.exists() or path.is_symlink():
        _check_sqlite_file(path)
        return _lifecycle(database, "create", str(path), changed=False)
    if not database.dry_run:
        create_private_file(path)
    return _lifecycle(database, "create", str(path), changed=True)


def _check_sqlite_file(path: Path) -> None:
    """An existing file counts as the database only if SQLite would open it as one."""
    if not path.is_file():
        raise Conflict(f"{path} exists but is not a file")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise DatabaseUnreachable(f"cannot read {path}: {error.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise Conflict(f"{path} exists but is not a SQLite database")


# -- drop ---------------------------------------------------------------------------------------


async def drop_database(
    ctx: ServiceContext,
    *,
    confirmed: bool,
    allow_destructive: bool,
    profile: str,
    force: bool = False,
) -> Lifecycle:
    """Drop the configured database (SQLite: the file and its -wal, -shm and -journal).

    Always needs confirming, even where the profile lets other destructive changes through
    unconfirmed: unlike a reset it takes everything in the database, not only this project's
    tables. A protected profile, or a database stamped by one, refuses even then, unless
    ``allow_destructive``. ``force`` disconnects other sessions first (PostgreSQL).
    """
    database = ctx.database
    what = "dropping the database"
    if not confirmed:
        raise ConfirmationRequired(f"{what} is destructive and was not confirmed")
    if ctx.settings.protected and not allow_destructive:
        raise Refused(
            f"{what} refused: the profile {profile!r} is protected; confirming is not enough, "
            f"set {ALLOW_DESTRUCTIVE} as well if you really mean it"
        )
    if database.dialect == "sqlite":
        return await _drop_sqlite(ctx, allow_destructive=allow_destructive)
    name = _database_name(database.url)
    if name in UNDROPPABLE:
        raise Refused(f"{what} refused: {name} is one of the server's own databases")
    async with _maintenance(database) as server:
        if not await _exists(server, name, database.where):
            return _lifecycle(database, "drop", name, changed=False)
    require_unprotected(await _stamp(ctx), allow_destructive=allow_destructive, what=what)
    if database.dry_run:
        return _lifecycle(database, "drop", name, changed=True)
    # PostgreSQL refuses to drop a database with open connections, the run's own included.
    await database.finish()
    statement = f"DROP DATABASE IF EXISTS {_identifier(name)}" + (" WITH (FORCE)" if force else "")
    async with _maintenance(database) as server:
        try:
            await server.execute(statement)
        except Exception as error:
            state = _sqlstate(error)
            if state == _OBJECT_IN_USE:
                raise Conflict(
                    f"the database {name} is being used by other sessions; they must disconnect "
                    "first, or use {field} to disconnect them",
                    field="force",
                ) from None
            if state == _INSUFFICIENT_PRIVILEGE:
                raise Refused(
                    f"the server refused to drop the database {name}: permission denied (only "
                    f"its owner or a superuser may) ({database.where})"
                ) from None
            raise _translated(error, database.where) from None
    return _lifecycle(database, "drop", name, changed=True)


async def _drop_sqlite(ctx: ServiceContext, *, allow_destructive: bool) -> Lifecycle:
    database = ctx.database
    path = _sqlite_file(database)
    # A -wal left beside a missing file would be replayed into the next database made there.
    files = [
        candidate
        for candidate in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDECARS))
        if candidate.exists() or candidate.is_symlink()
    ]
    if not files:
        return _lifecycle(database, "drop", str(path), changed=False)
    if path in files:
        _check_sqlite_file(path)
        stamp = await _stamp(ctx)
        require_unprotected(
            stamp, allow_destructive=allow_destructive, what="dropping the database"
        )
    shown = tuple(str(file) for file in files)
    if database.dry_run:
        return _lifecycle(database, "drop", str(path), changed=True, files=shown)
    await database.finish()
    for file in files:
        try:
            file.unlink(missing_ok=True)
        except OSError as error:
            raise DatabaseUnreachable(f"cannot remove {file}: {error.strerror}") from None
    return _lifecycle(database, "drop", str(path), changed=True, files=shown)
