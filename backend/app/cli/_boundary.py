"""Where the CLI turns an error into its exit code and its one ``error: ...`` line.

The words are the CLI's: a field becomes its flag (``expires_in`` -> ``--expires-in``) and an
error's hint becomes advice about flags and commands. Everything printed is scrubbed of the
run's secrets. Standard library and invoke only, like the rest of the task modules' start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from invoke.exceptions import Exit

from backend.app.errors import OutputClosed, exit_status


def program_name() -> str:
    """How the user called us, for advice such as "run `inv db.upgrade`"."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "inv" if name.startswith("inv") else "backendctl"


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def hints() -> dict[str, str]:
    prog = program_name()
    return {
        "confirm": "pass --yes (or set APP_ASSUME_YES=1) to confirm",
        "upgrade_schema": f"run `{prog} db.upgrade` first",
        "downgrade": f"use `{prog} db.downgrade --revision ...` to go back",
        "revision": f"write a migration with `{prog} db.revision --autogenerate`",
        "debug": "(set APP_DEBUG=1 for a traceback)",
    }


def failure(error: BaseException, *, secrets: Iterable[str] = (), where: str = "") -> Exit:
    """The Exit for ``error``: ``error: <line>`` on stderr, and its documented code."""
    if isinstance(error, BrokenPipeError | OutputClosed):
        return quiet_exit()

    def classify(failed: BaseException) -> object:
        if "sqlalchemy" not in sys.modules:  # nothing of the database stack ran
            return None
        from backend.app.core.db_errors import classify_error

        return classify_error(failed, where)

    from backend.app.core.redaction import redact_text

    known = list(secrets)
    code, line = exit_status(
        error,
        classify=classify,  # type: ignore[arg-type]
        name=flag_name,
        hints=hints(),
        redact=lambda text: redact_text(text, known),
    )
    return Exit(f"error: {line}", code=code)


def quiet_exit() -> Exit:
    """A reader that closed the pipe (``| head``) is not an error: stop quietly, like git."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (a test's capture): nothing will be flushed to it
    return Exit(code=0)
