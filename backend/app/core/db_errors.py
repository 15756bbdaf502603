"""Database failures in the error hierarchy: unreachable (6), no schema (7), collisions (4)...

Drivers report the same thing many ways (a raw ``ConnectionRefusedError`` from asyncpg, a
generic ``DBAPIError`` with a SQLSTATE, a ``sqlite3.OperationalError`` with a message). This is
the one place that reads them; everything else sees an ``AppError``.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import ssl
from collections.abc import Iterator

from sqlalchemy import exc

from backend.app.errors import (
    AlreadyExists,
    AppError,
    Conflict,
    DatabaseUnreachable,
    NotFound,
    SchemaNotReady,
)

NO_SCHEMA = "the database has no schema yet or is out of date ({where})"


@contextlib.contextmanager
def translating(where: str) -> Iterator[None]:
    """Re-raise a recognised database failure as its AppError. ``where`` must be masked."""
    try:
        yield
    except AppError:
        raise
    except Exception as error:
        mapped = classify_error(error, where)
        if mapped is None:
            raise
        raise mapped from error


def classify_error(error: BaseException, where: str) -> AppError | None:
    """Map a database failure to an AppError, or None when it is not one we recognise."""
    if isinstance(error, exc.IntegrityError):
        return _classify_integrity(error.orig)
    if isinstance(error, exc.DBAPIError):
        return _classify_dbapi(error.orig, where, invalidated=error.connection_invalidated)
    if isinstance(error, sqlite3.Error):
        return _classify_dbapi(error, where, invalidated=False)
    if isinstance(error, ssl.SSLError):
        return DatabaseUnreachable(f"the TLS handshake with the database failed ({where})")
    if isinstance(error, socket.gaierror):
        return DatabaseUnreachable(f"cannot resolve the database host ({where})")
    if isinstance(error, ConnectionRefusedError):
        return DatabaseUnreachable(f"connection refused by the database server ({where})")
    if "rejected SSL upgrade" in str(error):  # asyncpg: sslmode=require, a server without TLS
        return DatabaseUnreachable(
            f"the database server does not offer TLS, and the URL requires it ({where})"
        )
    if isinstance(error, FileNotFoundError) and getattr(error, "filename", None) is None:
        # A Unix socket folder that is not there (?host=/nonexistent).
        return DatabaseUnreachable(f"no database server listens there ({where})")
    if isinstance(error, TimeoutError):
        return DatabaseUnreachable(f"timed out connecting to the database ({where})")
    if isinstance(error, ConnectionError | OSError) and not isinstance(error, FileNotFoundError):
        reason = error.strerror or type(error).__name__
        return DatabaseUnreachable(f"cannot reach the database ({where}): {reason}")
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _classify_sqlstate(sqlstate, where, type(error).__name__)
    return None


def _sqlstate(orig: BaseException | None) -> str | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _classify_integrity(orig: BaseException | None) -> AppError:
    """No integrity error ever surfaces as an unexpected failure: each says what collided."""
    state = _sqlstate(orig)
    message = str(orig).lower()
    if state == "23505" or "unique constraint failed" in message:
        return AlreadyExists("it already exists (created by another command meanwhile)")
    if state == "23503" or "foreign key constraint failed" in message:
        return NotFound("a record this change refers to no longer exists (deleted meanwhile)")
    # The first line names the rule (a check constraint, a trigger's refusal), never a value.
    rule = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    return Conflict(
        "the change breaks a rule of the database and was rolled back"
        + (f" ({rule})" if rule else "")
    )


def is_unique_violation(error: exc.IntegrityError) -> bool:
    """Whether an IntegrityError is a duplicate key (rather than, say, a check constraint)."""
    return isinstance(_classify_integrity(error.orig), AlreadyExists)


def _classify_dbapi(
    orig: BaseException | None, where: str, *, invalidated: bool
) -> AppError | None:
    state = _sqlstate(orig)
    if (refused := _refused_by_a_rule(state, orig)) is not None:
        return refused
    if state is not None:
        cause = getattr(orig, "__cause__", None)
        name = type(cause).__name__ if cause is not None else type(orig).__name__
        mapped = _classify_sqlstate(state, where, name)
        if mapped is not None:
            return mapped
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if isinstance(candidate, OSError | ssl.SSLError):
            return classify_error(candidate, where)
    message = str(orig).lower() if orig is not None else ""
    if "unable to open database file" in message:
        return DatabaseUnreachable(f"cannot open the SQLite database ({where})")
    if "no such table" in message or "no such column" in message or "has no column" in message:
        return SchemaNotReady(NO_SCHEMA.format(where=where))
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


def _classify_sqlstate(state: str, where: str, name: str) -> AppError | None:
    if state == "3D000":
        return DatabaseUnreachable(f"the database does not exist ({where})")
    if state in ("28000", "28P01"):
        return DatabaseUnreachable(f"the database refused the login ({where})")
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return DatabaseUnreachable(f"lost or could not open the database connection ({where})")
    if state in ("42P01", "42703"):  # undefined table, undefined column
        return SchemaNotReady(NO_SCHEMA.format(where=where))
    if state in ("40001", "40P01"):
        return Conflict(f"the change collided with a concurrent one and was rolled back ({name})")
    if state == "25006":
        return DatabaseUnreachable(f"the database is read-only, nothing was written ({where})")
    if state.startswith("23"):
        return _classify_integrity(_State(state))
    return None


def _refused_by_a_rule(state: str | None, orig: BaseException | None) -> AppError | None:
    """A trigger or function that raised (PostgreSQL's P0001) refuses the change as a
    constraint would."""
    if state == "P0001":
        return _classify_integrity(orig)
    return None


class _State(Exception):
    """A bare SQLSTATE, for errors that arrive without their driver exception."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate
