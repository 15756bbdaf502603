"""`audit` tasks: who changed what, newest first."""

from __future__ import annotations

from backend.app.cli._runtime import Runtime, app_task
from backend.app.domain import parse_count

AUDIT_COLUMNS = [
    ("id", "ID"),
    ("occurred_at", "WHEN"),
    ("actor", "ACTOR"),
    ("action", "ACTION"),
    ("target", "TARGET"),
    ("details", "DETAILS"),
]


@app_task(
    name="list",
    help={
        "limit": "at most this many events (default 50)",
        "action": "only this action (e.g. user.create), or a prefix ending in * (user.*)",
        "actor": "only events by this actor (e.g. cli:alice@host)",
    },
)
async def list_(
    rt: Runtime, limit: str = "50", action: str | None = None, actor: str | None = None
) -> None:
    """List audit events, newest first."""
    count = parse_count(limit, field="limit")
    from backend.app.services import audit

    async with audit.list_events(rt.services(), limit=count, action=action, actor=actor) as rows:
        await rt.out.table(rows, AUDIT_COLUMNS, empty="(no audit events)")
