"""Schema use cases behind the `db` tasks: migrate, inspect, check, reset, write revisions.

Each command is one schema unit of work (``uow.schema_uow``) running the migration runner on
its connection, so a failure anywhere rolls back whole, and a dry run rolls back with the rest
of the run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.app.core.guards import require_confirmation
from backend.app.errors import DatabaseUnreachable, InvalidInput, SchemaNotReady
from backend.app.migrations import alembic_glue, drift, revisions, runner
from backend.app.migrations.runner import MigrationOptions, MigrationResult
from backend.app.repositories import schema as schema_repo
from backend.app.repositories.schema import Stamp
from backend.app.services.uow import schema_uow

if TYPE_CHECKING:
    from alembic.config import Config

    from backend.app.services.context import ServiceContext


@dataclass(frozen=True)
class SchemaState:
    """Where the database is, against where the migrations end."""

    exists: bool
    current: tuple[str, ...]
    heads: tuple[str, ...]
    stamp: Stamp | None

    @property
    def at_head(self) -> bool:
        return self.exists and len(self.heads) == 1 and self.current == self.heads


def config(root: Path) -> Config:
    return runner.stderr_config(root)


async def upgrade(
    ctx: ServiceContext, cfg: Config, opts: MigrationOptions, *, revision: str = "head"
) -> MigrationResult:
    revisions.check_revision_syntax(revision)
    async with schema_uow(ctx, create=True) as conn:
        return await conn.run_sync(lambda c: runner.upgrade(c, cfg, opts, revision))


async def downgrade(
    ctx: ServiceContext, cfg: Config, opts: MigrationOptions, *, revision: str, confirmed: bool
) -> MigrationResult:
    revisions.check_revision_syntax(revision)
    require_confirmation(ctx.settings, confirmed=confirmed, what="migrating the database down")
    async with schema_uow(ctx, create=False) as conn:
        return await conn.run_sync(lambda c: runner.downgrade(c, cfg, opts, revision))


async def stamp(
    ctx: ServiceContext, cfg: Config, opts: MigrationOptions, *, revision: str, confirmed: bool
) -> MigrationResult:
    revisions.check_revision_syntax(revision)
    require_confirmation(
        ctx.settings, confirmed=confirmed, what="recording a revision without migrating"
    )
    async with schema_uow(ctx, create=True) as conn:
        return await conn.run_sync(lambda c: runner.stamp(c, cfg, opts, revision))


async def reset(
    ctx: ServiceContext, cfg: Config, opts: MigrationOptions, *, confirmed: bool
) -> MigrationResult:
    require_confirmation(ctx.settings, confirmed=confirmed, what="resetting the database")
    async with schema_uow(ctx, create=True) as conn:
        return await conn.run_sync(lambda c: runner.reset(c, cfg, opts))


async def offline_sql(ctx: ServiceContext, cfg: Config, *, revision: str, up: bool) -> str:
    """The SQL a migration would run; a bare target starts from the database's revision."""
    revisions.check_revision_syntax(revision)
    if ":" not in revision:
        state = await current(ctx, cfg)
        if len(state.current) > 1:
            raise InvalidInput(
                "the database has several current revisions: give the range as FROM:TO",
                field="revision",
            )
        revision = f"{state.current[0] if state.current else 'base'}:{revision}"
    try:
        return runner.offline_sql(cfg, ctx.database.url.sqlalchemy_url(), revision, up=up)
    except NotImplementedError as error:
        raise InvalidInput(
            f"this migration cannot be rendered as SQL for {ctx.database.dialect}: {error}"
        ) from None


async def current(ctx: ServiceContext, cfg: Config) -> SchemaState:
    """The database's revision(s) and profile stamp; a missing SQLite file is not created."""
    heads = runner.heads(cfg)
    if not ctx.database.exists() and not ctx.database.dry_run:
        return SchemaState(exists=False, current=(), heads=heads, stamp=None)
    async with schema_uow(ctx, create=False) as conn:
        found, stamped = await conn.run_sync(
            lambda c: (schema_repo.current_revisions(c), schema_repo.read_stamp(c))
        )
    return SchemaState(exists=True, current=found, heads=heads, stamp=stamped)


def history(cfg: Config) -> list[revisions.Revision]:
    return revisions.history(cfg)


async def check(ctx: ServiceContext, cfg: Config, *, wait: float = 0.0) -> SchemaState:
    """Raise unless the database is reachable (6), at the single head, and matches the models
    (7). ``wait`` retries reaching it for up to that many seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = await current(ctx, cfg)
            break
        except DatabaseUnreachable:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            await asyncio.sleep(min(1.0, remaining))
    if not state.exists:
        raise SchemaNotReady("the database has not been created yet")
    if not state.heads:
        raise InvalidInput("no migrations found: check version_locations in alembic.ini")
    if len(state.heads) > 1:
        raise SchemaNotReady(
            f"the migrations have several heads ({', '.join(state.heads)}): merge them",
            hint="",
        )
    if state.current != state.heads:
        shown = ", ".join(state.current) or "no revision (empty database)"
        raise SchemaNotReady(f"the database is at {shown}, the migrations end at {state.heads[0]}")
    async with schema_uow(ctx, create=False) as conn:
        diffs = await conn.run_sync(drift.model_drift)
    if diffs:
        listed = "; ".join(diffs[:5]) + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else "")
        raise SchemaNotReady(
            f"the models drift from the migrations ({len(diffs)}): {listed}", hint="revision"
        )
    return state


async def revision(
    ctx: ServiceContext | None, cfg: Config, *, message: str, autogenerate: bool
) -> revisions.Revision | None:
    """Write a new migration file; with ``autogenerate``, None when nothing differs."""
    message = revisions.check_message(message)
    revisions.versions_folder(cfg)
    if not autogenerate:
        return revisions.write(cfg, message=message, autogenerate=False, conn=None)
    assert ctx is not None
    async with schema_uow(ctx, create=False) as conn:
        return await conn.run_sync(
            lambda c: revisions.write(cfg, message=message, autogenerate=True, conn=c)
        )


__all__ = ["MigrationOptions", "MigrationResult", "SchemaState", "alembic_glue"]
