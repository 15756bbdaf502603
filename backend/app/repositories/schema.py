"""The schema's own facts, on the synchronous connection migrations run on: the revision alembic
records, the profile stamp, and dropping this project's tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, delete, insert, inspect, select
from sqlalchemy.engine import Connection

from backend.app.models import AppMeta, Base, utcnow
from backend.app.models.meta import STAMP_PROFILE, STAMP_PROTECTED


@dataclass(frozen=True)
class Stamp:
    """The profile a database was first migrated under, and whether that profile is protected."""

    profile: str
    protected: bool


def current_revisions(conn: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def read_stamp(conn: Connection) -> Stamp | None:
    if not inspect(conn).has_table(AppMeta.__tablename__):
        return None
    query = select(AppMeta.key, AppMeta.value).where(
        AppMeta.key.in_([STAMP_PROFILE, STAMP_PROTECTED])
    )
    rows = {key: value for key, value in conn.execute(query).all()}
    if STAMP_PROFILE not in rows:
        return None
    return Stamp(rows[STAMP_PROFILE], rows.get(STAMP_PROTECTED) == "true")


def write_stamp(conn: Connection, stamp: Stamp) -> bool:
    """Record ``stamp`` unless the database has one that it must keep; whether it wrote.

    The first profile to migrate a database stamps it; a protected profile also claims an
    unprotected one. A protected stamp is only ever removed with everything else (db.reset).
    """
    if not inspect(conn).has_table(AppMeta.__tablename__):
        return False
    current = read_stamp(conn)
    if current is not None and (current.protected or not stamp.protected):
        return False
    now = utcnow()
    conn.execute(delete(AppMeta).where(AppMeta.key.in_([STAMP_PROFILE, STAMP_PROTECTED])))
    conn.execute(
        insert(AppMeta),
        [
            {"key": STAMP_PROFILE, "value": stamp.profile, "updated_at": now},
            {
                "key": STAMP_PROTECTED,
                "value": "true" if stamp.protected else "false",
                "updated_at": now,
            },
        ],
    )
    return True


def drop_our_tables(conn: Connection) -> None:
    """Drop the tables this project owns (and alembic's), leaving anything else alone."""
    ours = set(Base.metadata.tables) | {"alembic_version"}
    reflected = MetaData()
    reflected.reflect(conn, only=lambda name, _meta: name in ours)
    reflected.drop_all(conn)


def orphaned_rows(conn: Connection) -> list[str]:
    """SQLite: the tables whose rows point at a missing parent (foreign keys were off)."""
    if conn.dialect.name != "sqlite":
        return []
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return sorted({str(row[0]) for row in problems})
