"""The migration runner: one function per command, shaped like alembic's ``command`` module.

Every command runs on a synchronous connection already inside the caller's transaction (the
``db`` tasks' unit of work, or the plain ``alembic`` CLI's own, see :func:`run_alembic_cli`) and
does the same things in the same order, once each: take PostgreSQL's migration lock, read the
profile stamp, run alembic, refuse a step that would take a protected database down, check
SQLite's foreign keys, stamp the profile. ``env.py`` only runs the migrations it is handed.
"""

from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from backend.app.core.guards import require_unprotected
from backend.app.errors import AlreadyPast, AppError, MigrationFailed
from backend.app.migrations.alembic_glue import alembic_config, alembic_errors, script_directory
from backend.app.repositories import schema
from backend.app.repositories.schema import Stamp

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext, MigrationInfo
    from sqlalchemy.engine import Connection

# One cluster-wide lock id for "someone is migrating this database".
MIGRATION_LOCK_KEY = zlib.crc32(b"backend.app:migrations")
# The one key under which a run travels to env.py (alembic hands env.py nothing but its Config).
RUN_KEY = "backend.migration_run"


@dataclass(frozen=True)
class MigrationOptions:
    """Who is migrating: the profile to stamp, and whether destruction was allowed."""

    profile: str
    protected: bool
    allow_destructive: bool = False


@dataclass(frozen=True)
class MigrationResult:
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    sql: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass
class MigrationRun:
    """What env.py needs to run the migrations on the caller's connection."""

    connection: Connection | None
    url: str | None = None  # offline (SQL-rendering) mode renders for this dialect
    guard: Callable[[MigrationInfo], None] | None = None
    steps: list[MigrationInfo] = field(default_factory=list)

    def on_version_apply(
        self,
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        """Alembic calls this after each step, inside the transaction: raising rolls it back."""
        if self.guard is not None:
            self.guard(step)
        self.steps.append(step)


def upgrade(
    conn: Connection, cfg: Config, opts: MigrationOptions, revision: str
) -> MigrationResult:
    from alembic import command

    _refuse_going_back(conn, cfg, revision)
    return migrate(conn, cfg, opts, lambda: command.upgrade(cfg, revision))


def downgrade(
    conn: Connection, cfg: Config, opts: MigrationOptions, revision: str
) -> MigrationResult:
    from alembic import command

    return migrate(conn, cfg, opts, lambda: command.downgrade(cfg, revision), stamps=False)


def stamp(conn: Connection, cfg: Config, opts: MigrationOptions, revision: str) -> MigrationResult:
    from alembic import command

    return migrate(conn, cfg, opts, lambda: command.stamp(cfg, revision))


def reset(conn: Connection, cfg: Config, opts: MigrationOptions) -> MigrationResult:
    """Drop this project's tables and migrate to head again, in the caller's transaction."""
    from alembic import command

    def drop_then_upgrade() -> None:
        schema.drop_our_tables(conn)
        command.upgrade(cfg, "head")

    return migrate(conn, cfg, opts, drop_then_upgrade, destroys=True)


def offline_sql(cfg: Config, url: str, revision: str, *, up: bool) -> str:
    """The SQL a ``FROM:TO`` migration would run, for the dialect of ``url``."""
    from alembic import command

    buffer = io.StringIO()
    cfg.output_buffer = buffer
    cfg.attributes[RUN_KEY] = MigrationRun(connection=None, url=url)
    with alembic_errors():
        (command.upgrade if up else command.downgrade)(cfg, revision, sql=True)
    return buffer.getvalue()


def heads(cfg: Config) -> tuple[str, ...]:
    with alembic_errors():
        return tuple(sorted(script_directory(cfg).get_heads()))


def migrate(
    conn: Connection,
    cfg: Config,
    opts: MigrationOptions,
    work: Callable[[], None],
    *,
    destroys: bool = False,
    stamps: bool | None = True,
) -> MigrationResult:
    """Lock, guard, run ``work``, check, stamp: the same steps, once each, for every command.

    A migration that raises is reported with the revision the database stays at: the caller's
    transaction rolls everything back (DDL included, on both engines).
    """
    if conn.dialect.name == "postgresql":
        # Transaction-scoped: released at commit or rollback, so it also works behind PgBouncer.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    before = schema.current_revisions(conn)
    found = schema.read_stamp(conn)
    if destroys:
        require_unprotected(
            found, allow_destructive=opts.allow_destructive, what="resetting the database"
        )
    run = MigrationRun(connection=conn, guard=_step_guard(found, opts))
    cfg.attributes[RUN_KEY] = run
    try:
        with alembic_errors():
            work()
    except AppError:
        raise
    except Exception as error:
        if _is_connection_problem(error):
            raise
        raise MigrationFailed(
            f"the migration failed and was rolled back; the database is still at "
            f"{', '.join(before) or 'no revision'} ({type(error).__name__}: {_first_line(error)})"
        ) from error
    finally:
        cfg.attributes.pop(RUN_KEY, None)
    if orphans := schema.orphaned_rows(conn):
        raise MigrationFailed(
            f"the migration was rolled back: it left rows without their parent in "
            f"{', '.join(orphans)}; the database is still at {', '.join(before) or 'no revision'}"
        )
    # None: stamp unless a step went down (the plain alembic CLI, whose command is not known).
    if stamps or (stamps is None and all(step.is_upgrade for step in run.steps)):
        schema.write_stamp(conn, Stamp(opts.profile, opts.protected))
    return MigrationResult(before, schema.current_revisions(conn), heads(cfg))


def _step_guard(found: Stamp | None, opts: MigrationOptions) -> Callable[[MigrationInfo], None]:
    """Refuse any step down, and any stamp, on a protected database (read before the run: a
    downgrade to base drops the table the stamp lives in)."""

    def guard(step: MigrationInfo) -> None:
        if step.is_stamp or not step.is_upgrade:
            what = "stamping a revision" if step.is_stamp else "migrating down"
            require_unprotected(found, allow_destructive=opts.allow_destructive, what=what)

    return guard


def _refuse_going_back(conn: Connection, cfg: Config, revision: str) -> None:
    """``upgrade 0001`` on a database at 0002 is a mistake, not "nothing to do"."""
    current = schema.current_revisions(conn)
    if not current or ":" in revision:
        return
    with alembic_errors():
        script = script_directory(cfg)
        targets = script.get_revisions(revision)
        if not targets or any(t is None for t in targets):
            return
        below = {rev.revision for rev in script.revision_map.iterate_revisions(current, "base")}
    wanted = {t.revision for t in targets if t is not None}
    if wanted <= below and not wanted <= set(current):
        raise AlreadyPast(
            f"the database is at {', '.join(current)}, already past {revision}; "
            "an upgrade never goes back"
        )


def _is_connection_problem(error: BaseException) -> bool:
    from backend.app.core.db_errors import classify_error
    from backend.app.errors import SchemaNotReady

    mapped = classify_error(error, "")
    # A missing table here is the migration's own bug, not a database that needs upgrading.
    return mapped is not None and not isinstance(mapped, SchemaNotReady)


def _first_line(error: BaseException) -> str:
    text_ = str(error).strip()
    return text_.splitlines()[0] if text_ else ""


def stderr_config(root: Path) -> Config:
    """The alembic Config the tasks use; alembic's own messages go to stderr."""
    return alembic_config(root, stdout=sys.stderr)
