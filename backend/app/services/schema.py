"""Schema use cases behind the `db` tasks: migrate, inspect, check, reset, author revisions.

Every function runs in one transaction on a connection it owns; alembic's env.py runs on that
same connection (``config.attributes["connection"]``), so a failure anywhere rolls back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from backend.app.core.db import (
    Database,
    classify_error,
    create_engine,
    file_exists,
    translate_errors,
    writer,
)
from backend.app.core.redaction import mask_url
from backend.app.errors import AppError, InvalidInput, MigrationFailed, SchemaNotReady, quote
from backend.app.services.guards import require_confirmation, require_unprotected

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

    from backend.app.core.config import AppConfig

T = TypeVar("T")
SCRIPT_LOCATION = "backend.app:migrations"
FILE_TEMPLATE = "%%(rev)s_%%(slug)s"


@dataclass(frozen=True)
class Revision:
    id: str
    down_revisions: tuple[str, ...]
    message: str
    is_head: bool
    path: str


@dataclass(frozen=True)
class SchemaState:
    """Where the database is, against where the migrations end."""

    exists: bool
    current: tuple[str, ...]
    heads: tuple[str, ...]
    stamp: tuple[str, bool] | None

    @property
    def at_head(self) -> bool:
        return self.exists and len(self.heads) == 1 and self.current == self.heads


@dataclass(frozen=True)
class MigrationResult:
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    sql: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after


# -- alembic plumbing -----------------------------------------------------------------------------


def alembic_config(app: AppConfig, *, output: io.StringIO | None = None) -> Config:
    """The alembic Config the tasks use: the project's alembic.ini when there is one."""
    from alembic.config import Config

    ini = app.root / "alembic.ini"
    kwargs: dict[str, Any] = {"stdout": sys.stderr}
    if output is not None:
        kwargs["output_buffer"] = output
    if ini.is_file():
        cfg = Config(str(ini), **kwargs)
    else:
        cfg = Config(**kwargs)
        cfg.set_main_option("script_location", SCRIPT_LOCATION)
        cfg.set_main_option("file_template", FILE_TEMPLATE)
    cfg.attributes["app_config"] = app
    return cfg


def script_directory(cfg: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(cfg)


@contextlib.contextmanager
def alembic_errors() -> Iterator[None]:
    """Alembic's own failures as domain errors: a bad revision is invalid input (2)."""
    from alembic.script.revision import MultipleHeads, RevisionError
    from alembic.util import CommandError

    try:
        yield
    except (CommandError, RevisionError) as error:
        # Alembic's commands wrap MultipleHeads in a CommandError.
        heads = error if isinstance(error, MultipleHeads) else error.__cause__
        if isinstance(heads, MultipleHeads):
            raise SchemaNotReady(
                f"the migrations have several heads ({', '.join(heads.heads)}): merge them first"
            ) from None
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "not up to date" in message:
            raise SchemaNotReady(f"{message} (run `inv db.upgrade` first)") from None
        raise InvalidInput(message) from None


def _run_command(
    conn: Connection, cfg: Config, fn: Callable[..., Any], *args: Any, stamp: bool = False
) -> None:
    cfg.attributes["connection"] = conn
    cfg.attributes["stamp_profile"] = stamp
    try:
        with alembic_errors():
            fn(cfg, *args)
    finally:
        cfg.attributes.pop("connection", None)


def _migrate(
    conn: Connection, cfg: Config, fn: Callable[..., Any], *args: Any, stamp: bool = False
) -> MigrationResult:
    """Run one alembic command; a failing migration is reported with where the database stays.

    The caller's transaction rolls everything back (DDL included, on both engines), so the
    database is left exactly at the revision it had before.
    """
    before = current_revisions(conn)
    try:
        _run_command(conn, cfg, fn, *args, stamp=stamp)
    except AppError:
        raise
    except Exception as error:
        mapped = classify_error(error, mask_url(app_url(cfg)))
        # A connection problem is translated to exit 6 by the caller. A missing table here is
        # the migration's own bug, not a database that needs `db.upgrade`.
        if mapped is not None and not isinstance(mapped, SchemaNotReady):
            raise
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise MigrationFailed(
            f"the migration failed and was rolled back; the database is still at "
            f"{', '.join(before) or 'no revision'} ({type(error).__name__}: {detail})"
        ) from error
    return MigrationResult(before, current_revisions(conn), _heads(cfg))


def app_url(cfg: Config) -> str:
    app = cfg.attributes.get("app_config")
    return (app.settings.database_url or "") if app is not None else ""


def current_revisions(conn: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


async def in_migration_transaction(
    app: AppConfig, work: Callable[[Connection], T], *, create: bool = True
) -> T:
    """Run ``work`` on one connection, in one transaction, committed only if it returns.

    SQLite connections here have foreign keys OFF (batch migrations would cascade-delete child
    rows otherwise) and take the write lock at BEGIN; env.py checks foreign keys before commit.
    """
    engine = writer(create_engine(app.settings, create=create, foreign_keys=False))
    try:
        with translate_errors(app.settings):
            async with engine.connect() as conn, conn.begin():
                return await conn.run_sync(work)
    finally:
        await engine.dispose()


def _lock(conn: Connection) -> None:
    from sqlalchemy import text

    from backend.app.migrations.support import MIGRATION_LOCK_KEY

    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _read_stamp(conn: Connection) -> tuple[str, bool] | None:
    from backend.app.migrations.support import read_stamp

    return read_stamp(conn)


def _heads(cfg: Config) -> tuple[str, ...]:
    with alembic_errors():
        return tuple(sorted(script_directory(cfg).get_heads()))


# -- use cases ------------------------------------------------------------------------------------


async def upgrade(app: AppConfig, *, revision: str = "head", sql: bool = False) -> MigrationResult:
    """Migrate up to ``revision``; with ``sql`` only render the DDL that would run."""
    from alembic import command

    _check_revision_syntax(revision)
    cfg = alembic_config(app)
    if sql:
        return MigrationResult(sql=await _offline(app, command.upgrade, revision))

    def work(conn: Connection) -> MigrationResult:
        _lock(conn)
        return _migrate(conn, cfg, command.upgrade, revision, stamp=True)

    return await in_migration_transaction(app, work)


async def downgrade(
    app: AppConfig,
    *,
    revision: str,
    confirmed: bool,
    allow_destructive: bool,
    sql: bool = False,
) -> MigrationResult:
    """Migrate down to ``revision`` (destructive: guarded); with ``sql`` only render the DDL."""
    from alembic import command

    _check_revision_syntax(revision)
    cfg = alembic_config(app)
    if sql:
        return MigrationResult(sql=await _offline(app, command.downgrade, revision))
    require_confirmation(app.settings, confirmed=confirmed, action="db.downgrade")

    def work(conn: Connection) -> MigrationResult:
        _lock(conn)
        require_unprotected(
            _read_stamp(conn), allow_destructive=allow_destructive, action="db.downgrade"
        )
        return _migrate(conn, cfg, command.downgrade, revision)

    return await in_migration_transaction(app, work, create=False)


async def reset(app: AppConfig, *, confirmed: bool, allow_destructive: bool) -> MigrationResult:
    """Drop every table of ours and migrate to head again, in one transaction."""
    from alembic import command

    require_confirmation(app.settings, confirmed=confirmed, action="db.reset")
    cfg = alembic_config(app)

    def work(conn: Connection) -> MigrationResult:
        _lock(conn)
        require_unprotected(
            _read_stamp(conn), allow_destructive=allow_destructive, action="db.reset"
        )
        before = current_revisions(conn)
        _drop_our_tables(conn)
        result = _migrate(conn, cfg, command.upgrade, "head", stamp=True)
        return MigrationResult(before, result.after, result.heads)

    return await in_migration_transaction(app, work)


async def stamp(app: AppConfig, *, revision: str) -> MigrationResult:
    """Record ``revision`` as current without running migrations."""
    from alembic import command

    _check_revision_syntax(revision)
    cfg = alembic_config(app)

    def work(conn: Connection) -> MigrationResult:
        _lock(conn)
        return _migrate(conn, cfg, command.stamp, revision, stamp=True)

    return await in_migration_transaction(app, work)


async def current(app: AppConfig) -> SchemaState:
    """The database's revision(s) and profile stamp; a missing SQLite file is not created."""
    heads = _heads(alembic_config(app))
    if file_exists(app.settings) is False:
        return SchemaState(exists=False, current=(), heads=heads, stamp=None)
    db = Database(app.settings)
    try:
        async with db.connect() as conn:
            revisions, stamp_ = await conn.run_sync(
                lambda c: (current_revisions(c), _read_stamp(c))
            )
    finally:
        await db.dispose()
    return SchemaState(exists=True, current=revisions, heads=heads, stamp=stamp_)


def history(app: AppConfig) -> list[Revision]:
    """Every revision, newest first. Needs no database."""
    with alembic_errors():
        script = script_directory(alembic_config(app))
        heads = set(script.get_heads())
        return [
            Revision(
                id=rev.revision,
                down_revisions=_as_tuple(rev.down_revision),
                message=(rev.doc or "").strip(),
                is_head=rev.revision in heads,
                path=str(rev.path),
            )
            for rev in script.walk_revisions()
        ]


async def check(app: AppConfig, *, wait: float = 0.0) -> SchemaState:
    """Raise unless the database is reachable (6), at the single head, and matches the models (7).

    ``wait`` retries reaching the database for up to that many seconds. A protected profile
    with unsafe settings (default secret key, SQLite) fails first, as invalid input (2).
    """
    from backend.app.core.provenance import production_problems
    from backend.app.errors import DatabaseUnreachable

    if problems := production_problems(app):
        raise InvalidInput(
            f"unsafe settings for the protected profile {app.profile.name}: {'; '.join(problems)}"
        )
    deadline = time.monotonic() + wait
    while True:
        try:
            state = await current(app)
            break
        except DatabaseUnreachable:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            await asyncio.sleep(min(1.0, remaining))
    if not state.exists:
        raise SchemaNotReady("the database has not been created yet: run `inv db.upgrade`")
    if len(state.heads) > 1:
        raise SchemaNotReady(
            f"the migrations have several heads ({', '.join(state.heads)}): merge them"
        )
    if state.current != state.heads:
        shown = ", ".join(state.current) or "no revision (empty database)"
        raise SchemaNotReady(
            f"the database is at {shown}, the migrations end at {state.heads[0]}: "
            "run `inv db.upgrade`"
        )
    diffs = await _drift(app)
    if diffs:
        listed = "; ".join(diffs[:5]) + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else "")
        raise SchemaNotReady(f"the models drift from the migrations ({len(diffs)}): {listed}")
    return state


async def _drift(app: AppConfig) -> list[str]:
    db = Database(app.settings)
    try:
        async with db.connect() as conn:
            return await conn.run_sync(model_drift)
    finally:
        await db.dispose()


def model_drift(conn: Connection) -> list[str]:
    """Differences between the models and the database, described one per item."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from backend.app.migrations.support import configure_options

    options = configure_options(conn.dialect.name)
    metadata = options.pop("target_metadata")
    context = MigrationContext.configure(conn, opts=options)
    return [_describe_diff(diff) for diff in compare_metadata(context, metadata)]


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe_diff(d) for d in diff)
    kind = diff[0]
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if name:
            return f"{kind} {table + '.' if table else ''}{name}"
    if kind.startswith("modify_") and len(diff) > 3:
        return f"{kind} {diff[2]}.{diff[3]}"
    return str(kind)


async def revision(app: AppConfig, *, message: str, autogenerate: bool = False) -> Revision | None:
    """Write a new migration file; with ``autogenerate``, None when nothing differs."""
    from alembic import command

    message = message.strip()
    if not message or len(message) > 200 or not message.isprintable():
        raise InvalidInput("--message must be 1 to 200 printable characters")
    # The message is pasted into the new file's docstring: these would break its syntax, and
    # a migration file that does not compile breaks every command after it.
    if "\\" in message or '"""' in message:
        raise InvalidInput('--message cannot contain a backslash or """ (it becomes a docstring)')
    cfg = alembic_config(app)
    with alembic_errors():
        script = script_directory(cfg)
    versions = Path(script.versions)
    if {"site-packages", "dist-packages"} & set(versions.resolve().parts):
        raise InvalidInput(
            f"db.revision writes migrations into a checkout; {versions} belongs to the "
            "installed package, where a new file would be lost at the next install"
        )
    if not os.access(versions, os.W_OK):
        raise InvalidInput(
            f"cannot write to {versions}: db.revision needs a writable checkout of the project"
        )
    rev_id = next_revision_id(script.walk_revisions())

    def skip_if_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
        if autogenerate and directives and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    def generate(conn: Connection | None) -> Any:
        if conn is not None:
            cfg.attributes["connection"] = conn
        with alembic_errors(), contextlib.redirect_stdout(sys.stderr):
            return command.revision(
                cfg,
                message=message,
                autogenerate=autogenerate,
                rev_id=rev_id,
                process_revision_directives=skip_if_empty,
            )

    if autogenerate:
        created = await in_migration_transaction(app, generate, create=False)
    else:
        created = generate(None)
    if isinstance(created, list):
        created = created[0] if created else None
    if created is None:
        return None
    return Revision(
        id=created.revision,
        down_revisions=_as_tuple(created.down_revision),
        message=message,
        is_head=True,
        path=str(created.path),
    )


def next_revision_id(revisions: Any) -> str:
    numbers = [int(m.group()) for rev in revisions if (m := re.match(r"\d+", rev.revision))]
    return f"{max(numbers, default=0) + 1:04d}"


# -- helpers --------------------------------------------------------------------------------------


async def _offline(app: AppConfig, fn: Callable[..., Any], revision: str) -> str:
    """Render migration SQL for ``FROM:TO``; a bare target starts from the database's revision."""
    if ":" not in revision:
        state = await current(app)
        if len(state.current) > 1:
            raise InvalidInput(
                "the database has several current revisions: pass --revision FROM:TO"
            )
        start = state.current[0] if state.current else "base"
        revision = f"{start}:{revision}"
    buffer = io.StringIO()
    cfg = alembic_config(app, output=buffer)
    try:
        with alembic_errors():
            fn(cfg, revision, True)
    except NotImplementedError as error:
        raise InvalidInput(
            f"--sql cannot render this migration for {app.settings.database_url.split(':')[0]}: "  # type: ignore[union-attr]
            f"{error}"
        ) from None
    return buffer.getvalue()


def _check_revision_syntax(revision: str) -> None:
    # At most one FROM:TO, no empty side of it or of a `branch@rev`: alembic fails those with an
    # AssertionError or a ValueError (exit 1, "unexpected failure") instead of its own error.
    parts = revision.split(":")
    empty_side = any(not side for part in parts for side in part.split("@"))
    if (
        len(revision) > 120
        or not re.fullmatch(r"[\w@:+\-.,]+", revision)
        or len(parts) > 2
        or empty_side
    ):
        raise InvalidInput(f"invalid revision {quote(revision)}")


def _drop_our_tables(conn: Connection) -> None:
    """Drop the tables this project owns (and alembic's), leaving anything else alone."""
    from sqlalchemy import MetaData

    from backend.app.models import Base

    ours = set(Base.metadata.tables) | {"alembic_version"}
    reflected = MetaData()
    reflected.reflect(conn, only=lambda name, _meta: name in ours)
    reflected.drop_all(conn)


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)
