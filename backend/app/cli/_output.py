"""Human and JSON output. Stdout carries results only; notes, warnings and errors go to stderr.

In JSON mode a task prints exactly one JSON value on one line, so a chain yields JSON Lines.
Lists stream: rows are written as they arrive, never gathered first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from backend.app.errors import OutputClosed

# Human tables size their columns from the first rows, then stream the rest.
WIDTH_SAMPLE = 200
# JSON lists are encoded this many rows at a time: one C-encoder call per chunk, not per row.
JSON_CHUNK = 500


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, timedelta):
        from backend.app.core.durations import format_duration

        return format_duration(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":"))
# For a stdout that cannot encode every character (an ASCII locale): \u escapes are still JSON.
_ASCII_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=True, separators=(",", ":"))


def to_json(value: Any) -> str:
    return _ENCODER.encode(value)


def _encodes_unicode(stream: TextIO) -> bool:
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
    return encoding.startswith(("utf-8", "utf8", "utf-16", "utf-32"))


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: what both humans and parsers want."""
    if value.tzinfo is not UTC:  # the models hand out UTC already; anything else is converted
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")[:-6] + "Z"


def human(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(human(v) for v in value) if value else "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={human(v)}" for k, v in value.items()) if value else "-"
    if isinstance(value, timedelta):
        from backend.app.core.durations import format_duration

        return format_duration(value)
    return _printable(str(value))


def width(text: str) -> int:
    """Columns a terminal gives ``text``: wide (CJK) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _printable(text: str) -> str:
    """Keep terminal control characters out of human output."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class Output:
    """Where a task's results go, in the format the user asked for."""

    def __init__(
        self,
        *,
        as_json: bool,
        dry_run: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.as_json = as_json
        self.dry_run = dry_run
        self._stdout = stdout
        self._stderr = stderr
        self.emitted = False

    @property
    def _encoder(self) -> json.JSONEncoder:
        return _ENCODER if _encodes_unicode(self.stdout) else _ASCII_ENCODER

    def _json(self, data: Any) -> str:
        if self.dry_run and isinstance(data, Mapping):
            data = {**data, "dry_run": True}
        return self._encoder.encode(data)

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    # -- stderr --------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        """Context for a human (what happened); silent in JSON mode."""
        if not self.as_json:
            print(text, file=self.stderr, flush=True)

    def banner(self, text: str) -> None:
        """Which profile and database: on stderr in every mode (CI logs need it most)."""
        print(text, file=self.stderr, flush=True)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.stderr, flush=True)

    # -- stdout --------------------------------------------------------------------------------

    def _claim(self) -> None:
        if self.emitted and self.as_json:
            raise RuntimeError("a task printed more than one JSON value")
        self.emitted = True

    def result(self, data: Mapping[str, Any] | Sequence[Any], *, text: str | None = None) -> None:
        """The task's one result: ``data`` as JSON, or ``text`` (else ``data`` as key: value)."""
        self._claim()
        with _reader_may_leave():
            self._result(data, text)

    def _result(self, data: Mapping[str, Any] | Sequence[Any], text: str | None) -> None:
        if self.as_json:
            print(self._json(data), file=self.stdout, flush=True)
        elif text is not None:
            print(text, file=self.stdout, flush=True)
        elif isinstance(data, Mapping):
            self._print_record(data)
        else:
            for item in data:
                print(human(item), file=self.stdout)

    def record(
        self, data: Mapping[str, Any], *, text: str | None = None, fields: Sequence[str] = ()
    ) -> None:
        """One object: JSON, or an aligned ``key: value`` block (optionally a line above it)."""
        self._claim()
        with _reader_may_leave():
            self._record(data, text, fields)

    def _record(self, data: Mapping[str, Any], text: str | None, fields: Sequence[str]) -> None:
        if self.as_json:
            print(self._json(data), file=self.stdout, flush=True)
            return
        if text:
            print(text, file=self.stdout)
        self._print_record({k: data[k] for k in fields} if fields else data)

    def _print_record(self, data: Mapping[str, Any]) -> None:
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            print(f"{key + ':':<{width + 1}} {human(value)}", file=self.stdout)
        self.stdout.flush()

    async def table(
        self,
        rows: AsyncIterable[Mapping[str, Any]] | Iterable[Mapping[str, Any]],
        columns: Sequence[tuple[str, str]],
        *,
        empty: str = "(none)",
    ) -> int:
        """Stream rows: a JSON array on one line, or an aligned table. Returns the row count."""
        self._claim()
        iterator = _aiter(rows)
        with _reader_may_leave():
            if self.as_json:
                return await self._json_rows(iterator)
            return await self._human_rows(iterator, columns, empty)

    async def _json_rows(self, rows: AsyncIterable[Mapping[str, Any]]) -> int:
        out = self.stdout
        out.write("[")
        count = 0
        chunk: list[Mapping[str, Any]] = []
        async for row in rows:
            chunk.append(row)
            if len(chunk) == JSON_CHUNK:
                count = self._write_chunk(chunk, count)
        count = self._write_chunk(chunk, count)
        out.write("]\n")
        out.flush()
        return count

    def _write_chunk(self, chunk: list[Mapping[str, Any]], count: int) -> int:
        """Encode a chunk of rows as one array and write its items; the chunk is emptied."""
        if not chunk:
            return count
        if count:
            self.stdout.write(",")
        self.stdout.write(self._encoder.encode(chunk)[1:-1])
        count += len(chunk)
        chunk.clear()
        return count

    async def _human_rows(
        self,
        rows: AsyncIterable[Mapping[str, Any]],
        columns: Sequence[tuple[str, str]],
        empty: str,
    ) -> int:
        out = self.stdout
        sample: list[list[str]] = []
        iterator = rows.__aiter__()
        async for row in iterator:
            sample.append([human(row.get(key)) for key, _ in columns])
            if len(sample) >= WIDTH_SAMPLE:
                break
        if not sample:
            print(empty, file=out)
            return 0
        headers = [header for _, header in columns]
        widths = [max(width(h), *(width(r[i]) for r in sample)) for i, h in enumerate(headers)]

        def line(cells: Sequence[str]) -> str:
            padded = (c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True))
            return "  ".join(padded).rstrip()

        print(line(headers), file=out)
        for cells in sample:
            print(line(cells), file=out)
        count = len(sample)
        async for row in iterator:
            print(line([human(row.get(key)) for key, _ in columns]), file=out)
            count += 1
        out.flush()
        return count


@contextmanager
def _reader_may_leave() -> Iterator[None]:
    """A write to stdout whose reader has gone raises OutputClosed (see errors.py)."""
    try:
        yield
    except BrokenPipeError:
        raise OutputClosed from None


async def _aiter_sync(rows: Iterable[Mapping[str, Any]]) -> AsyncIterable[Mapping[str, Any]]:
    for row in rows:
        yield row


def _aiter(
    rows: AsyncIterable[Mapping[str, Any]] | Iterable[Mapping[str, Any]],
) -> AsyncIterable[Mapping[str, Any]]:
    if isinstance(rows, AsyncIterable):
        return rows
    return _aiter_sync(rows)
