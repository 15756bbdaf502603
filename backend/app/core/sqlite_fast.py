"""A SELECT compiled once for SQLite and run straight on the driver: the hot path of
``authenticate``.

aiosqlite runs each cursor operation on its own thread, and the five round trips SQLAlchemy's
adapter makes per query cost far more than an indexed lookup. This runs the compiled SQL in one
driver call and applies the type conversions SQLAlchemy would. It needs two private attributes
of SQLAlchemy's compiler (``_bind_processors``, ``_result_columns``) and one of its types
(``_cached_result_processor``); they are read here and nowhere else, and
``tests/unit/test_sqlite_fast.py`` fails loudly if an upgrade of SQLAlchemy changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect


@dataclass(frozen=True)
class Prepared:
    sql: str
    names: tuple[str, ...]
    bind_processors: tuple[Callable[[Any], Any] | None, ...]
    keys: tuple[str, ...]
    result_processors: tuple[Callable[[Any], Any] | None, ...]

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
        )

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if fn is None else fn(params[name])
            for name, fn in zip(self.names, self.bind_processors, strict=True)
        ]

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        return {
            key: value if fn is None else fn(value)
            for key, fn, value in zip(self.keys, self.result_processors, values, strict=True)
        }
