"""`db` tasks: migrate, inspect, check and reset the database schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.cli._common import YES_HELP
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli.dbserver import create, drop, shell  # noqa: F401 (tasks of this namespace)
from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.migrations.runner import MigrationResult


def _revisions(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "(empty)"


def _report(rt: Runtime, result: MigrationResult, *, verb: str, always: bool = False) -> None:
    changed = always or result.changed
    at_head = len(result.heads) == 1 and result.after == result.heads
    data: dict[str, Any] = {
        "status": verb if changed else "unchanged",
        "from": list(result.before),
        "to": list(result.after),
        "at_head": at_head,
        "profile": rt.app.profile.name,
    }
    where = " (head)" if at_head else ""
    if changed:
        text = f"{verb}: {_revisions(result.before)} -> {_revisions(result.after)}{where}"
    else:
        text = f"unchanged: already at {_revisions(result.after)}{where}"
    rt.out.result(data, text=text)


async def _sql(rt: Runtime, revision: str, *, up: bool) -> None:
    from backend.app.services import schema

    sql = await schema.offline_sql(rt.services(), rt.alembic(), revision=revision, up=up)
    rt.out.result({"sql": sql}, text=sql.rstrip("\n"))


@app_task(
    help={
        "revision": "target revision (default: head); with --sql also FROM:TO",
        "sql": "print the DDL instead of running it (from the database's current revision)",
    }
)
async def upgrade(rt: Runtime, revision: str = "head", sql: bool = False) -> None:
    """Migrate the database up to a revision (default: head); unchanged when already there."""
    if sql:
        await _sql(rt, revision, up=True)
        return
    from backend.app.services import schema

    result = await schema.upgrade(
        rt.services(), rt.alembic(), rt.migration_options(), revision=revision
    )
    _report(rt, result, verb="upgraded")


@app_task(
    help={
        "revision": "target revision: an id, a relative step like -1, or base (required)",
        "yes": YES_HELP,
        "sql": "print the DDL instead of running it (no confirmation needed)",
    }
)
async def downgrade(
    rt: Runtime, revision: str | None = None, yes: bool = False, sql: bool = False
) -> None:
    """Migrate the database down to a revision (destructive: needs --yes)."""
    if revision is None:
        raise InvalidInput("--revision is required (e.g. --revision -1, or --revision base)")
    if sql:
        await _sql(rt, revision, up=False)
        return
    from backend.app.services import schema

    result = await schema.downgrade(
        rt.services(),
        rt.alembic(),
        rt.migration_options(),
        revision=revision,
        confirmed=rt.confirmed(yes),
    )
    _report(rt, result, verb="downgraded")


@app_task()
async def current(rt: Runtime) -> None:
    """Show the database's current revision and the profile it was migrated under."""
    from backend.app.services import schema

    state = await schema.current(rt.services(), rt.alembic())
    stamp = (
        {"profile": state.stamp.profile, "protected": state.stamp.protected}
        if state.stamp
        else None
    )
    data = {
        "revisions": list(state.current),
        "heads": list(state.heads),
        "at_head": state.at_head,
        "exists": state.exists,
        "stamp": stamp,
    }
    if not state.exists:
        text = "(none): the database does not exist yet"
    elif not state.current:
        text = "(none): the database is empty"
    else:
        if state.at_head:
            where = "head"
        elif state.current == state.heads:
            where = "every head, but the migrations have several: merge them"
        else:
            where = f"behind head {_revisions(state.heads)}"
        text = f"{_revisions(state.current)} ({where})"
    if state.stamp:
        text += f"\nmigrated under profile {state.stamp.profile}"
        text += " (protected)" if state.stamp.protected else ""
    rt.out.result(data, text=text)


@app_task(database=False)
async def history(rt: Runtime) -> None:
    """List the migrations, newest first."""
    from backend.app.services import schema

    rows = [
        {
            "id": rev.id,
            "down_revision": ", ".join(rev.down_revisions) or None,
            "head": rev.is_head,
            "message": rev.message,
        }
        for rev in schema.history(rt.alembic())
    ]
    await rt.out.table(
        rows,
        [("id", "ID"), ("down_revision", "DOWN"), ("head", "HEAD"), ("message", "MESSAGE")],
        empty="(no migrations)",
    )


@app_task(
    help={"wait": "keep retrying to reach the database for up to this many seconds (default 0)"}
)
async def check(rt: Runtime, wait: str = "0") -> None:
    """Exit 0 when the database is reachable, at head and matches the models (else 6 or 7)."""
    from backend.app.cli.config import warn_about_files
    from backend.app.core.provenance import production_problems
    from backend.app.services import schema

    warn_about_files(rt)
    for problem in exposed_files(rt.services().database.sqlite_path):
        rt.out.warn(problem)
    seconds = _seconds(wait, flag="--wait")
    if problems := production_problems(rt.app):
        raise InvalidInput(
            f"unsafe settings for the protected profile {rt.app.profile.name}: "
            f"{'; '.join(problems)}"
        )
    state = await schema.check(rt.services(), rt.alembic(), wait=seconds)
    revision = state.current[0]
    rt.out.result(
        {"status": "ok", "revision": revision, "profile": rt.app.profile.name},
        text=f"ok: the database is at head ({revision}) and matches the models",
    )


def exposed_files(path: Path | None) -> list[str]:
    """A SQLite database (or its -wal/-shm) that other users can read: hashes and digests."""
    if path is None:
        return []
    found = []
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode
        except OSError:
            continue
        if mode & 0o006:
            found.append(
                f"{file} can be read by other users (it holds password hashes and key "
                f"digests): chmod 600 {file}"
            )
    return found


def _seconds(text: str, *, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{flag} must be a number of seconds") from None
    if not 0 <= value <= 3600:
        raise InvalidInput(f"{flag} must be between 0 and 3600 seconds")
    return value


@app_task(help={"yes": YES_HELP})
async def reset(rt: Runtime, yes: bool = False) -> None:
    """Drop every table and migrate to head again (destructive: needs --yes)."""
    from backend.app.services import schema

    result = await schema.reset(
        rt.services(), rt.alembic(), rt.migration_options(), confirmed=rt.confirmed(yes)
    )
    _report(rt, result, verb="reset", always=True)


@app_task(
    help={
        "message": "what the migration does (required)",
        "autogenerate": "compare the models with the database and write the difference",
    }
)
async def revision(rt: Runtime, message: str | None = None, autogenerate: bool = False) -> None:
    """Write a new migration file (in a checkout); a dry run says which file, and writes none."""
    from backend.app.migrations import revisions
    from backend.app.services import schema

    if message is None:
        raise InvalidInput("--message is required")
    cfg = rt.alembic()
    if rt.dry_run:
        text = revisions.check_message(message)
        folder = revisions.versions_folder(cfg)
        rev_id = revisions.next_revision_id(cfg)
        path = folder / f"{rev_id}_{revisions.slug(text)}.py"
        rt.out.result(
            {"status": "would create", "id": rev_id, "path": str(path)},
            text=f"would create {rev_id}: {path}",
        )
        return
    created = await schema.revision(
        rt.services() if autogenerate else None, cfg, message=message, autogenerate=autogenerate
    )
    if created is None:
        rt.out.result(
            {"status": "unchanged", "id": None, "path": None},
            text="unchanged: the models match the database, no migration written",
        )
        return
    rt.out.result(
        {"status": "created", "id": created.id, "path": created.path},
        text=f"created {created.id}: {created.path}",
    )


@app_task(
    help={
        "revision": "the revision to record as current (an id, head or base)",
        "yes": YES_HELP,
    }
)
async def stamp(rt: Runtime, revision: str, yes: bool = False) -> None:
    """Record a revision as current without running any migration (destructive: needs --yes)."""
    from backend.app.services import schema

    result = await schema.stamp(
        rt.services(),
        rt.alembic(),
        rt.migration_options(),
        revision=revision,
        confirmed=rt.confirmed(yes),
    )
    _report(rt, result, verb="stamped")
