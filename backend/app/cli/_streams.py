"""Where a task's logging and output streams go: alembic's progress on stderr, drivers that log
bound parameters kept quiet, and streams that never crash on a character they cannot encode."""

from __future__ import annotations

import logging
import sys
from typing import Any

# Loggers that print bound parameters (password hashes, key digests) at DEBUG: never below INFO.
QUIET_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy", "pydantic_settings", "passlib")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (tests swap it), never to a stale stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _MigrationProgress(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().startswith("Running ")


def configure_logging() -> None:
    """Show alembic's progress lines on stderr; keep parameter-logging drivers quiet."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    alembic = logging.getLogger("alembic")
    if not any(isinstance(h, _StderrHandler) for h in alembic.handlers):
        handler = _StderrHandler()
        handler.addFilter(_MigrationProgress())
        handler.setFormatter(logging.Formatter("%(message)s"))
        alembic.addHandler(handler)
    alembic.setLevel(logging.INFO)
    alembic.propagate = False


def configure_streams() -> None:
    """Output never crashes on encoding: a stream that cannot encode a character escapes it."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        # Under the C locale Python's stdio uses surrogateescape, which fails on any non-ASCII
        # character that did not come from undecodable input: it must go too.
        errors = getattr(stream, "errors", "strict")
        if reconfigure is not None and errors in ("strict", "surrogateescape"):
            reconfigure(errors="backslashreplace")


def invoke_debug() -> bool:
    """Whether invoke runs with `-d` (or INVOKE_DEBUG): it sets up the root logger its own way.

    Only that set-up counts, not any DEBUG root logger (a test's log capture, an embedding app).
    """
    from invoke.util import LOG_FORMAT

    root = logging.getLogger()
    return root.isEnabledFor(logging.DEBUG) and any(
        getattr(handler.formatter, "_fmt", None) == LOG_FORMAT for handler in root.handlers
    )


def stdin_is_a_terminal() -> bool:
    """Whether a person may be typing on standard input (False when it is closed or absent)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False
