from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute


def contains(column: InstrumentedAttribute[Any], needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with LIKE's wildcards in ``needle`` taken literally."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
