"""Whether the models and the migrated database agree (what `alembic check` answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def model_drift(conn: Connection) -> list[str]:
    """Differences between the models and the database, described one per item."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from backend.app.migrations.alembic_glue import configure_options

    options = configure_options(conn.dialect.name)
    metadata = options.pop("target_metadata")
    context = MigrationContext.configure(conn, opts=options)
    return [describe(diff) for diff in compare_metadata(context, metadata)]


def describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(describe(d) for d in diff)
    kind = diff[0]
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if name:
            return f"{kind} {table + '.' if table else ''}{name}"
    if kind.startswith("modify_") and len(diff) > 3:
        return f"{kind} {diff[2]}.{diff[3]}"
    return str(kind)
