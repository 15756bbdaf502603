"""Every error the backend raises on purpose, and the one function that turns any error into an
exit status and the line printed for it.

Services and core raise these with messages in the domain's words: a field's name, never a
command-line flag; an action, never a command. The CLI renders field names as flags and adds
its hints (``exit_status(..., words=...)``); a web app shows ``str(error)``. Messages must never
contain a secret. Standard library only: the CLI uses this module on its error path before
anything heavy is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# Exit codes (the README's table).
OK = 0
UNEXPECTED = 1
INVALID_INPUT = 2
NOT_FOUND = 3
CONFLICT = 4
REFUSED = 5
UNREACHABLE = 6
NOT_AT_HEAD = 7
INTERRUPTED = 130


def quote(value: str, limit: int = 60) -> str:
    """Echo a user's input in a message: quoted, control characters escaped, long ones cut."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown)


class AppError(Exception):
    """Base of every expected failure. ``exit_code`` is what the CLI exits with.

    ``field`` names the input at fault (``expires_in``, ``email``); the message may place it with
    ``{field}``. ``hint`` names advice that only the caller can phrase (``confirm``,
    ``upgrade_schema``...): the CLI turns it into words about its flags and commands.
    """

    exit_code = UNEXPECTED
    hint: str | None = None

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if hint is not None:  # "" drops the class's advice
            self.hint = hint or None

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message with its field named by ``name`` (a flag for the CLI)."""
        if self.field is None or "{field}" not in self.message:
            return self.message
        return self.message.replace("{field}", name(self.field))

    def __str__(self) -> str:
        return self.render()


class InvalidInput(AppError):
    """A flag, setting or argument is malformed (exit 2)."""

    exit_code = INVALID_INPUT


class MalformedKey(InvalidInput):
    """Not an API key at all: wrong shape or a checksum that does not match (exit 2)."""


class DryRunUnsupported(InvalidInput):
    """The command cannot be carried out as a dry run, so it refuses rather than run for real."""


class NotFound(AppError):
    """The thing named does not exist (exit 3)."""

    exit_code = NOT_FOUND


class Conflict(AppError):
    """The change conflicts with the current state (exit 4)."""

    exit_code = CONFLICT


class AlreadyExists(Conflict):
    """A unique thing already exists (exit 4)."""


class AlreadyPast(Conflict):
    """An upgrade to a revision the database has already passed (exit 4)."""

    hint = "downgrade"


class AuthenticationFailed(AppError):
    """Credentials did not authenticate (exit 3). ``reason`` is for operators, not callers."""

    exit_code = NOT_FOUND

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeyRejected(AuthenticationFailed):
    """A well-formed API key that does not authenticate.

    The message is the same for every reason ("invalid API key"), so a caller that shows only
    the message cannot learn whether a key exists, was revoked or expired. ``reason`` is one of
    ``unknown``, ``revoked``, ``expired``, ``owner inactive``: for logs and operators only.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("invalid API key", reason=reason)


class Refused(AppError):
    """A safety guard refused the operation (exit 5)."""

    exit_code = REFUSED


class ConfirmationRequired(Refused):
    """A destructive action was not confirmed (exit 5)."""

    hint = "confirm"


class DatabaseUnreachable(AppError):
    """The database cannot be reached, opened or logged into (exit 6)."""

    exit_code = UNREACHABLE


class MigrationFailed(AppError):
    """A migration raised; its transaction was rolled back (exit 1: an unexpected failure)."""

    exit_code = UNEXPECTED


class SchemaNotReady(AppError):
    """The database is not at head, has several heads, or drifted from the models (exit 7)."""

    exit_code = NOT_AT_HEAD
    hint = "upgrade_schema"


class Interrupted(AppError):
    """Ctrl-C: the current transaction was rolled back (exit 130)."""

    exit_code = INTERRUPTED

    def __init__(self) -> None:
        super().__init__("interrupted; the current transaction was rolled back")


class OutputClosed(Exception):
    """The reader of stdout went away (``| head``): the command stops quietly, exit 0.

    Raised in place of the BrokenPipeError of a write to stdout, which is an OSError that a unit
    of work around the output (a streamed list) would otherwise take for a lost connection.
    """


class Unexpected(AppError):
    """Anything else, described by its type and its first line (exit 1)."""

    exit_code = UNEXPECTED
    hint = "debug"

    @classmethod
    def of(cls, error: BaseException) -> Unexpected:
        text = str(error).strip()
        detail = text.splitlines()[0] if text else ""
        return cls(f"unexpected failure ({type(error).__name__}){': ' + detail if detail else ''}")


def exit_status(
    error: BaseException,
    *,
    classify: Callable[[BaseException], AppError | None] = lambda _error: None,
    name: Callable[[str], str] = str,
    hints: Mapping[str, str] | None = None,
    redact: Callable[[str], str] = lambda text: text,
) -> tuple[int, str]:
    """The exit code and the one line (without ``error: ``) for any error.

    ``classify`` recognises errors of the database stack (it is given by callers that have it
    loaded); ``name`` renders a field (as a flag, for the CLI); ``hints`` adds the
    caller's advice for an error's ``hint``; ``redact`` scrubs secrets from the final line.
    """
    mapped: AppError
    if isinstance(error, AppError):
        mapped = error
    elif isinstance(error, KeyboardInterrupt):
        mapped = Interrupted()
    else:
        mapped = classify(error) or Unexpected.of(error)
    line = mapped.render(name)
    advice = (hints or {}).get(mapped.hint or "")
    if advice:
        line += (" " if advice.startswith("(") else "; ") + advice
    line = " ".join(redact(line).split())
    return mapped.exit_code, line if len(line) <= 500 else line[:497] + "..."
