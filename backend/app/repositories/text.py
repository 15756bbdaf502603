from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.functions import FunctionElement


def contains(column: InstrumentedAttribute[Any], needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with LIKE's wildcards in ``needle`` taken literally."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


class utc_text(FunctionElement[str]):
    """A timestamp column as ISO 8601 UTC text to the second (``2026-12-03T17:41:21Z``, what
    the CLI prints), formatted by the database: a list of 100k rows then makes no datetime per
    value only to format it again (about half of ``users.list --json``'s time per row)."""

    type = String()
    inherit_cache = True
    name = "utc_text"


# SQLite stores these columns as naive UTC text (see models.base.UTCDateTime).
_SQLITE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_POSTGRES_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


@compiles(utc_text, "sqlite")
def _utc_text_sqlite(element: utc_text, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(func.strftime(_SQLITE_FORMAT, column), **kw))


@compiles(utc_text, "postgresql")
def _utc_text_postgres(element: utc_text, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    utc = func.timezone("UTC", column)
    return str(compiler.process(func.to_char(utc, _POSTGRES_FORMAT), **kw))
