"""The databases the sweep runs against, and how each is restored after a change."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

# -- databases the sweep runs against ------------------------------------------------------------


def sqlite_dump(path: Path) -> str:
    """Schema and every row, read through SQLite (so a pending WAL is included)."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SqliteTarget:
    """A working copy of the seeded template, put back after any run that changed it."""

    kind = "sqlite"

    def __init__(self, template: Path, work: Path) -> None:
        self.template = template
        self.work = work
        self.template_digest = file_digest(template)
        self.template_dump = sqlite_dump(template)
        self.restore()

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.work}"

    def _sidecars(self) -> list[Path]:
        return [self.work.with_name(self.work.name + suffix) for suffix in ("-wal", "-shm")]

    def restore(self) -> None:
        for sidecar in self._sidecars():
            sidecar.unlink(missing_ok=True)
        shutil.copyfile(self.template, self.work)

    def state(self) -> tuple[bool, bool]:
        """(bytes unchanged, content unchanged) since the last restore.

        The bytes are only comparable with no WAL pending: SQLite checkpoints and deletes it
        when the last connection closes, which every task run does (a leaked connection would
        leave one, and then the content comparison decides).
        """
        wal = self._sidecars()[0]
        pending = wal.exists() and wal.stat().st_size > 0
        if self.work.exists() and not pending and file_digest(self.work) == self.template_digest:
            return True, True
        content = self.work.exists() and sqlite_dump(self.work) == self.template_dump
        return False, content

    def close(self) -> None:
        pass


class PostgresTarget:
    """A database cloned from a seeded template; cloned again after a run that changed it."""

    kind = "postgresql"

    def __init__(self, server_dsn: str, url: str, template: str, baseline: Any) -> None:
        self.server_dsn = server_dsn
        self._url = url
        self.name = url.rsplit("/", 1)[1]
        self.template = template
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None
        self.baseline = baseline
        if baseline is not None and self.snapshot() != baseline:
            self.restore()  # an earlier test stopped before it could put the database back

    @property
    def url(self) -> str:
        return self._url

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def snapshot(self) -> Any:
        """Tables, columns, indexes and every row (sorted): all but sequence positions."""
        import asyncpg

        async def snap() -> Any:
            if self._conn is None:
                base = self.server_dsn.rsplit("/", 1)[0]
                self._conn = await asyncpg.connect(f"{base}/{self.name}", timeout=10)
            conn = self._conn
            tables = [
                r[0]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
            ]
            columns = await conn.fetch(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
            )
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
            )
            rows = {}
            for table in tables:
                fetched = await conn.fetch(f'SELECT * FROM "{table}"')
                rows[table] = sorted((tuple(r) for r in fetched), key=repr)
            return (
                tables,
                [tuple(c) for c in columns],
                [tuple(i) for i in indexes],
                rows,
            )

        return self._run(snap())

    def state(self) -> tuple[bool, bool]:
        """(content unchanged, content unchanged): PostgreSQL's bytes are not ours to compare;
        sequences are left out too (a failed INSERT consumes a value, by design)."""
        same = bool(self.snapshot() == self.baseline)
        return same, same

    def restore(self) -> None:
        import asyncpg

        async def clone() -> None:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
            admin = await asyncpg.connect(self.server_dsn, timeout=10)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
            finally:
                await admin.close()

        self._run(clone())

    def close(self) -> None:
        if self._conn is not None:
            self._run(self._conn.close())
            self._conn = None
        self._loop.close()
