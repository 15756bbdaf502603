"""`db` tasks: migrate, inspect, check and reset the database schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.app.cli._runtime import Runtime, app_task
from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.services.schema import MigrationResult

YES_HELP = "confirm a destructive change (or set APP_ASSUME_YES=1)"


def _revisions(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "(empty)"


def _report(rt: Runtime, result: MigrationResult, *, verb: str, always: bool = False) -> None:
    if result.sql is not None:
        rt.out.result({"sql": result.sql}, text=result.sql.rstrip("\n"))
        return
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


@app_task(
    help={
        "revision": "target revision (default: head); with --sql also FROM:TO",
        "sql": "print the DDL instead of running it (from the database's current revision)",
    }
)
async def upgrade(rt: Runtime, revision: str = "head", sql: bool = False) -> None:
    """Migrate the database up to a revision (default: head); unchanged when already there."""
    from backend.app.services import schema

    _report(rt, await schema.upgrade(rt.app, revision=revision, sql=sql), verb="upgraded")


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
    from backend.app.services import schema

    if revision is None:
        raise InvalidInput("--revision is required (e.g. --revision -1, or --revision base)")
    result = await schema.downgrade(
        rt.app,
        revision=revision,
        confirmed=rt.confirmed(yes),
        allow_destructive=rt.switches.allow_destructive,
        sql=sql,
    )
    _report(rt, result, verb="downgraded")


@app_task()
async def current(rt: Runtime) -> None:
    """Show the database's current revision and the profile it was migrated under."""
    from backend.app.services import schema

    state = await schema.current(rt.app)
    stamp = {"profile": state.stamp[0], "protected": state.stamp[1]} if state.stamp else None
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
    if stamp:
        text += f"\nmigrated under profile {stamp['profile']}"
        text += " (protected)" if stamp["protected"] else ""
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
        for rev in schema.history(rt.app)
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
    from backend.app.cli.config import warn_about_environment
    from backend.app.services import schema

    warn_about_environment(rt)
    seconds = _seconds(wait, flag="--wait")
    state = await schema.check(rt.app, wait=seconds)
    revision = state.current[0]
    rt.out.result(
        {"status": "ok", "revision": revision, "profile": rt.app.profile.name},
        text=f"ok: the database is at head ({revision}) and matches the models",
    )


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
        rt.app, confirmed=rt.confirmed(yes), allow_destructive=rt.switches.allow_destructive
    )
    _report(rt, result, verb="reset", always=True)


@app_task(
    help={
        "message": "what the migration does (required)",
        "autogenerate": "compare the models with the database and write the difference",
    }
)
async def revision(rt: Runtime, message: str | None = None, autogenerate: bool = False) -> None:
    """Write a new migration file (in a checkout)."""
    from backend.app.services import schema

    if message is None:
        raise InvalidInput("--message is required")
    created = await schema.revision(rt.app, message=message, autogenerate=autogenerate)
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


@app_task(help={"revision": "the revision to record as current (an id, head or base)"})
async def stamp(rt: Runtime, revision: str) -> None:
    """Record a revision as current without running any migration."""
    from backend.app.services import schema

    _report(rt, await schema.stamp(rt.app, revision=revision), verb="stamped")
