"""What env.py does, as plain functions: shared by `inv db.*` and the plain alembic CLI."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from alembic import context
from sqlalchemy import delete, insert, inspect, select, text

from backend.app.models import AppMeta, Base, UTCDateTime, utcnow
from backend.app.models.meta import STAMP_PROFILE, STAMP_PROTECTED

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy.engine import Connection

    from backend.app.core.config import AppConfig

# One cluster-wide lock id for "someone is migrating this database".
MIGRATION_LOCK_KEY = zlib.crc32(b"backend.app:migrations")


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our UTCDateTime as a plain timezone-aware DateTime in generated migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        "render_as_batch": dialect_name == "sqlite",
        # Our SQLite connections issue a real BEGIN, so DDL is transactional on both engines.
        "transactional_ddl": True,
        "compare_type": True,
        "render_item": render_item,
    }


def run_online(connection: Connection, app: AppConfig | None, *, stamp: bool) -> None:
    """Run the requested alembic command on ``connection``, inside the caller's transaction."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # A transaction-scoped lock: released at commit/rollback, safe behind PgBouncer.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(connection=connection, **configure_options(dialect))
    with context.begin_transaction():
        context.run_migrations()
    if dialect == "sqlite":
        check_foreign_keys(connection)
    if stamp and app is not None:
        stamp_profile(connection, profile=app.profile.name, protected=app.protected)


def run_offline(url: str) -> None:
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(dialect),
    )
    with context.begin_transaction():
        context.run_migrations()


def check_foreign_keys(connection: Connection) -> None:
    """Migrations run with SQLite foreign keys off; prove nothing was orphaned before commit."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        tables = sorted({str(row[0]) for row in problems})
        raise RuntimeError(
            f"foreign key check failed after migrating: {len(problems)} orphaned rows in "
            f"{', '.join(tables)}; nothing was committed"
        )


def read_stamp(connection: Connection) -> tuple[str, bool] | None:
    """The profile the database was first migrated under, and whether it is protected."""
    if not inspect(connection).has_table(AppMeta.__tablename__):
        return None
    query = select(AppMeta.key, AppMeta.value).where(
        AppMeta.key.in_([STAMP_PROFILE, STAMP_PROTECTED])
    )
    rows = {key: value for key, value in connection.execute(query).all()}
    if STAMP_PROFILE not in rows:
        return None
    return rows[STAMP_PROFILE], rows.get(STAMP_PROTECTED) == "true"


def stamp_profile(connection: Connection, *, profile: str, protected: bool) -> None:
    """Record the profile on first migration; a protected profile also claims an unprotected one.

    A protected stamp is never replaced here: only `db.reset` under APP_ALLOW_DESTRUCTIVE=1
    drops it along with everything else.
    """
    if not inspect(connection).has_table(AppMeta.__tablename__):
        return
    current = read_stamp(connection)
    if current is not None and (current[1] or not protected):
        return
    now = utcnow()
    connection.execute(delete(AppMeta).where(AppMeta.key.in_([STAMP_PROFILE, STAMP_PROTECTED])))
    connection.execute(
        insert(AppMeta),
        [
            {"key": STAMP_PROFILE, "value": profile, "updated_at": now},
            {"key": STAMP_PROTECTED, "value": "true" if protected else "false", "updated_at": now},
        ],
    )
