"""Helpers the tests share: a CLI runner that types commands like a user, and database handles."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from backend.app.cli.__main__ import program


@dataclass
class Result:
    argv: Sequence[str]
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """The single JSON value the task printed."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON line, got {self.stdout!r}"
        return json.loads(lines[0])

    @property
    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]

    def __str__(self) -> str:
        return (
            f"$ backendctl {' '.join(self.argv)}\n[exit {self.code}]\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class Cli:
    """Runs the console script's Program in-process, as `backendctl ARGS...` would."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    history: list[Result] = field(default_factory=list)

    def __call__(self, *argv: str, stdin: str | None = None, expect: int | None = 0) -> Result:
        self.capsys.readouterr()
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            program().run(["backendctl", *argv], exit=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        out, err = self.capsys.readouterr()
        result = Result(argv, code, out, err)
        self.history.append(result)
        if expect is not None:
            assert code == expect, str(result)
        assert "Traceback" not in err, str(result)
        return result

    def everything_printed(self) -> str:
        return "\n".join(r.stdout + r.stderr for r in self.history)


@dataclass(frozen=True)
class Db:
    """A database a test owns: its URL and a way to look inside without the app."""

    kind: str
    url: str
    # Where the test itself looks inside (a direct connection when ``url`` goes through a pooler).
    inspect_url: str | None = None

    def through(self, address: str) -> Db:
        """The same database reached at ``host:port`` (a pooler); looked into directly."""
        scheme, rest = self.url.split("://", 1)
        credentials, _, location = rest.rpartition("@")
        database = location.split("/", 1)[1]
        pooled = f"{scheme}://{credentials + '@' if credentials else ''}{address}/{database}"
        return Db(self.kind, pooled, inspect_url=self.inspect_url or self.url)

    @property
    def path(self) -> str:
        """The SQLite file (for SQLite databases only)."""
        assert self.kind == "sqlite"
        return self.url.split(":///", 1)[1]

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return asyncio.run(self._rows(sql, params))

    def scalar(self, sql: str, **params: Any) -> Any:
        rows = self.rows(sql, **params)
        return rows[0][0] if rows else None

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))

    def columns(self, table: str) -> set[str]:
        if self.kind == "sqlite":
            return {row[1] for row in self.rows(f"PRAGMA table_info({table})")}
        query = "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        return {row[0] for row in self.rows(query, t=table)}

    def tables(self) -> set[str]:
        if self.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        return {row[0] for row in self.rows(sql)}

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, ordered: compare before and after to prove nothing changed."""
        dumped = {}
        for table in sorted(self.tables()):
            rows = self.rows(f"SELECT * FROM {table}")
            dumped[table] = sorted(rows, key=repr)
        return dumped

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.inspect_url or self.url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(sql), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()
