"""The hot path of ``authenticate``: one SELECT, compiled once, run straight on the driver.

SQLAlchemy's per-query machinery costs more than an indexed lookup. On SQLite, aiosqlite runs
each cursor operation on its own thread and the adapter makes five round trips per query; on
PostgreSQL a Core execute spends more time in Python (a connection checked out and reset, an
execution context, a result) than the server spends on the lookup. :class:`Prepared` runs the
compiled SQL in one driver call and applies the type conversions SQLAlchemy would.

It needs two private attributes of SQLAlchemy's compiler (``_bind_processors``,
``_result_columns``) and one of its types (``_cached_result_processor``); they are read here and
nowhere else, and ``tests/unit/test_dependency_internals.py`` fails loudly if an upgrade of
SQLAlchemy changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Prepared:
    sql: str
    names: tuple[str, ...]
    bind_processors: tuple[Callable[[Any], Any] | None, ...]
    keys: tuple[str, ...]
    result_processors: tuple[Callable[[Any], Any] | None, ...]
    # Values the statement carries itself (``func.f(5)``), for parameters the caller omits.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, statement: Select[*tuple[Any, ...]], dialect: Dialect) -> Prepared:
        compiled: Any = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        columns = compiled._result_columns
        return cls(
            sql=compiled.string,
            names=names,
            bind_processors=tuple(processors.get(name) for name in names),
            keys=tuple(column.keyname for column in columns),
            result_processors=tuple(
                column.type._cached_result_processor(dialect, None) for column in columns
            ),
            defaults={
                name: bind.value
                for name, bind in compiled.binds.items()
                if name in names and not bind.required and bind.callable is None
            },
        )

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.defaults, **params} if self.defaults else params
        return [
            values[name] if fn is None else fn(values[name])
            for name, fn in zip(self.names, self.bind_processors, strict=True)
        ]

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        row = dict(zip(self.keys, values, strict=True))
        for key, fn in self._converted:
            row[key] = fn(row[key])
        return row

    @cached_property
    def _converted(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return tuple(
            (key, fn) for key, fn in zip(self.keys, self.result_processors, strict=True) if fn
        )


class Reader:
    """A connection kept for single-statement reads, its driver connection, and the statements
    prepared on it."""

    __slots__ = ("connection", "driver", "hold", "statements")

    def __init__(self, connection: AsyncConnection, driver: Any, *, hold: bool) -> None:
        self.connection = connection
        self.driver = driver
        self.hold = hold
        self.statements: dict[str, Any] = {}

    async def fetchrow(self, sql: str, args: Sequence[Any]) -> Any:
        """One row, on a statement prepared once per connection when ``hold`` (the statement
        cache is on): asyncpg's own cache costs a lookup and checks per call, about a tenth of
        an indexed lookup. Without the cache every call prepares an unnamed statement, the only
        kind a transaction-mode pooler tolerates."""
        if not self.hold:
            return await self.driver.fetchrow(sql, *args)
        statement = self.statements.get(sql)
        if statement is None:
            statement = self.statements[sql] = await self.driver.prepare(sql)
        try:
            return await statement.fetchrow(*args)
        except Exception as error:
            # A schema change invalidates a prepared statement; asyncpg's cache prepares it
            # again, and so does this, once.
            if type(error).__name__ not in _STALE_STATEMENT:
                raise
        statement = self.statements[sql] = await self.driver.prepare(sql)
        return await statement.fetchrow(*args)


_STALE_STATEMENT = frozenset({"InvalidCachedStatementError", "OutdatedSchemaCacheError"})


class Readers:
    """Up to ``size`` connections kept open for reads, each used by one caller at a time.

    Handing one out costs no round trip and no reset: a connection checked out of SQLAlchemy's
    pool per call is reset and wrapped again every time, and that, not the lookup, was what
    concurrent callers queued for. Nothing but a single statement outside any transaction ever
    runs on them, so there is no session state to reset, and each statement stands alone behind
    a transaction-mode pooler.
    """

    def __init__(
        self, open_reader: Callable[[], Awaitable[AsyncConnection]], size: int, *, hold: bool
    ) -> None:
        self._open_reader = open_reader
        self._size = size
        self._hold = hold
        self._idle: list[Reader] = []
        self._open: list[Reader] = []
        self._opening = 0
        # Callers waiting for a reader; each gets one, or None when a slot to open one is free.
        self._waiters: deque[asyncio.Future[Reader | None]] = deque()

    def take(self) -> Reader | None:
        """An idle reader, without awaiting anything (the common case), or None."""
        if self._idle and not self._idle[-1].driver.is_closed():
            return self._idle.pop()
        return None

    async def acquire(self) -> Reader:
        """A reader: an idle one, a new one while fewer than ``size`` are open, or the next
        one released. Idle readers whose connection died meanwhile (a server restart, a pooler
        that dropped it) are closed on the way."""
        while True:
            while self._idle:
                reader = self._idle.pop()
                if not reader.driver.is_closed():
                    return reader
                with contextlib.suppress(Exception):
                    await self.discard(reader)
            if len(self._open) + self._opening < self._size:
                return await self._new()
            waiter: asyncio.Future[Reader | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._give(waiter.result())  # handed over as we were cancelled: pass it on
                else:
                    self._waiters.remove(waiter)
                raise
            if handed is not None:
                return handed

    async def _new(self) -> Reader:
        self._opening += 1
        try:
            connection = await self._open_reader()
            try:
                raw = await connection.get_raw_connection()
            except BaseException:
                await connection.close()
                raise
        except BaseException:
            self._opening -= 1
            self._give(None)
            raise
        self._opening -= 1
        reader = Reader(connection, raw.driver_connection, hold=self._hold)
        self._open.append(reader)
        return reader

    def release(self, reader: Reader) -> None:
        self._give(reader)

    def _give(self, reader: Reader | None) -> None:
        """Hand ``reader`` (or, for None, a free slot) to the first waiter, else keep it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(reader)
                return
        if reader is not None:
            self._idle.append(reader)

    async def discard(self, reader: Reader) -> None:
        """Drop a reader whose statement failed or was interrupted: its protocol state is
        unknown, so it is closed for good rather than handed to the next caller."""
        self._open.remove(reader)
        self._give(None)
        try:
            await reader.connection.invalidate()
        finally:
            await reader.connection.close()

    @property
    def opened(self) -> int:
        return len(self._open)

    async def close(self) -> None:
        readers, self._open, self._idle = self._open, [], []
        for reader in readers:
            await reader.connection.close()
