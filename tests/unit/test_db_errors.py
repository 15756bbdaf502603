"""Database failures become the documented exit codes, whatever the driver calls them."""

from __future__ import annotations

import socket
import sqlite3
import ssl

import pytest
from sqlalchemy import exc

from backend.app.core.db_errors import classify_error, is_unique_violation
from backend.app.errors import (
    AlreadyExists,
    AppError,
    Conflict,
    DatabaseUnreachable,
    NotFound,
    SchemaNotReady,
)

WHERE = "postgresql+asyncpg://app:***@db/app"


class DriverError(Exception):
    """What asyncpg raises: a message and a SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(orig: Exception, kind: type[exc.DBAPIError] = exc.DBAPIError) -> exc.DBAPIError:
    return kind("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (wrapped(DriverError("duplicate key", "23505"), exc.IntegrityError), AlreadyExists, 4),
        (wrapped(DriverError("violates fk", "23503"), exc.IntegrityError), NotFound, 3),
        (wrapped(DriverError("violates check", "23514"), exc.IntegrityError), Conflict, 4),
        (wrapped(DriverError("null value", "23502"), exc.IntegrityError), Conflict, 4),
        (
            wrapped(
                sqlite3.IntegrityError("UNIQUE constraint failed: users.email"), exc.IntegrityError
            ),
            AlreadyExists,
            4,
        ),
        (
            wrapped(sqlite3.IntegrityError("FOREIGN KEY constraint failed"), exc.IntegrityError),
            NotFound,
            3,
        ),
        (wrapped(DriverError("audit trail unavailable", "P0001")), Conflict, 4),
        (wrapped(DriverError('database "x" does not exist', "3D000")), DatabaseUnreachable, 6),
        (wrapped(DriverError("password authentication failed", "28P01")), DatabaseUnreachable, 6),
        (wrapped(DriverError("connection lost", "08006")), DatabaseUnreachable, 6),
        (wrapped(DriverError("terminating connection", "57P01")), DatabaseUnreachable, 6),
        (wrapped(DriverError("relation does not exist", "42P01")), SchemaNotReady, 7),
        (wrapped(DriverError("could not serialize", "40001")), Conflict, 4),
        (wrapped(DriverError("deadlock detected", "40P01")), Conflict, 4),
        (wrapped(DriverError("read-only transaction", "25006")), DatabaseUnreachable, 6),
        (wrapped(sqlite3.OperationalError("no such table: users")), SchemaNotReady, 7),
        (wrapped(sqlite3.OperationalError("database is locked")), DatabaseUnreachable, 6),
        (wrapped(sqlite3.OperationalError("unable to open database file")), DatabaseUnreachable, 6),
        (
            wrapped(sqlite3.OperationalError("attempt to write a readonly database")),
            DatabaseUnreachable,
            6,
        ),
        (ConnectionRefusedError(111, "refused"), DatabaseUnreachable, 6),
        (socket.gaierror(-2, "Name or service not known"), DatabaseUnreachable, 6),
        (TimeoutError(), DatabaseUnreachable, 6),
        (ssl.SSLError(1, "wrong version number"), DatabaseUnreachable, 6),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_each_database_failure_maps_to_its_error_and_exit_code(
    error: BaseException, expected: type[AppError], code: int
) -> None:
    mapped = classify_error(error, WHERE)
    assert type(mapped) is expected
    assert mapped.exit_code == code


def test_no_integrity_error_is_ever_an_unexpected_failure() -> None:
    for state in ("23000", "23001", "23502", "23503", "23505", "23514", "23P01"):
        mapped = classify_error(wrapped(DriverError("x", state), exc.IntegrityError), WHERE)
        assert mapped is not None
        assert mapped.exit_code != 1, state


def test_a_rule_the_database_enforces_is_named_by_its_first_line_only() -> None:
    orig = DriverError('new row violates check constraint "ck_users_role"\nDETAIL: secret', "23514")
    mapped = classify_error(wrapped(orig, exc.IntegrityError), WHERE)
    assert mapped is not None
    assert mapped.message.endswith('(new row violates check constraint "ck_users_role")')


def test_unique_violations_are_told_from_other_integrity_errors() -> None:
    duplicate = wrapped(DriverError("duplicate", "23505"), exc.IntegrityError)
    missing = wrapped(DriverError("fk", "23503"), exc.IntegrityError)
    assert isinstance(duplicate, exc.IntegrityError)
    assert isinstance(missing, exc.IntegrityError)
    assert is_unique_violation(duplicate)
    assert not is_unique_violation(missing)


def test_an_error_it_does_not_know_is_left_alone() -> None:
    assert classify_error(ValueError("a bug"), WHERE) is None
    assert classify_error(wrapped(DriverError("syntax error", "42601")), WHERE) is None


def test_messages_name_the_database_as_given_never_more() -> None:
    mapped = classify_error(ConnectionRefusedError(111, "refused"), WHERE)
    assert mapped is not None
    assert WHERE in mapped.message
