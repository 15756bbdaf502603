"""SQLite's hot reads on the event loop's own thread, for as long as SQLite never makes them wait.

aiosqlite runs every call on a thread of its own: the statement goes into a queue, that thread
wakes, runs it and wakes the event loop again. For an indexed lookup that round trip is most of
the cost (about seven tenths of an ``authenticate`` on SQLite, measured), while the lookup itself
takes tens of microseconds. So :class:`InlineReader` runs such reads in the caller's thread, on a
connection of its own that cannot wait: busy timeout 0 and ``query_only``. When SQLite answers
"busy" (a connection switching the journal mode, the recovery after a crash), the reader says so
and the caller runs the read on aiosqlite's thread instead, which waits within the busy timeout
without holding up the event loop. A file it cannot open is left to that path too, which
reports it as every other command does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from backend.app.core.engines import sqlite_lower

_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
MMAP_BYTES = 256 * 1024 * 1024  # address space, not memory: the OS's page cache backs it


class InlineReader:
    """One connection to a SQLite file for single-statement reads that never wait."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def fetchall(self, sql: str, args: Sequence[Any]) -> list[Any] | None:
        """The statement's rows, or None when it could not run without waiting (or at all)."""
        connection = self._connection or self._open()
        if connection is None:
            return None
        try:
            # fetchall() finishes the statement: an idle reader holds no snapshot of the WAL.
            return connection.execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode in _BUSY:
                return None
            raise

    def _open(self) -> sqlite3.Connection | None:
        uri = "file:" + quote(str(self.path)) + "?mode=rw"  # never creates the file
        try:
            connection = sqlite3.connect(
                uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only = ON")
            # Pages read through a memory map, not a read() each: what keeps a lookup among 1M
            # keys about as cheap as among 1k (P4). Only this read-only connection maps the file.
            connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        except sqlite3.Error:
            return None  # tried again next time: the file may not be there yet
        # The same lower() as every other connection (see core.engines).
        connection.create_function("lower", 1, sqlite_lower, deterministic=True)
        self._connection = connection
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
