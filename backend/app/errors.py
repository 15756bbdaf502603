"""One error hierarchy for the whole backend, each error with its CLI exit code.

Services and core raise these; the CLI bridge is the only place that turns them into exit codes
(see SPEC.md, "Output and errors"). Messages must never contain a secret.
"""

from __future__ import annotations


def quote(value: str, limit: int = 60) -> str:
    """Echo a user's input in a message: quoted, control characters escaped, long ones cut."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown)


class AppError(Exception):
    """Base of every expected failure. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(AppError):
    """A flag, setting or argument is malformed (exit 2)."""

    exit_code = 2


class NotFound(AppError):
    """The thing named does not exist (exit 3)."""

    exit_code = 3


class Conflict(AppError):
    """The change conflicts with the current state (exit 4)."""

    exit_code = 4


class AlreadyExists(Conflict):
    """A unique thing already exists (exit 4)."""


class AuthenticationFailed(AppError):
    """Credentials did not authenticate (exit 3). ``reason`` is for operators, not callers."""

    exit_code = 3

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Refused(AppError):
    """A safety guard refused the operation: missing --yes, protected database (exit 5)."""

    exit_code = 5


class DatabaseUnreachable(AppError):
    """The database cannot be reached, opened or logged into (exit 6)."""

    exit_code = 6


class MigrationFailed(AppError):
    """A migration raised; its transaction was rolled back (exit 1: an unexpected failure)."""

    exit_code = 1


class SchemaNotReady(AppError):
    """The database is not at head, has several heads, or drifted from the models (exit 7)."""

    exit_code = 7
