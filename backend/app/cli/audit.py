"""`audit` tasks: who changed what, newest first; and retention."""

from __future__ import annotations

from backend.app.cli._common import YES_HELP
from backend.app.cli._runtime import Runtime, app_task
from backend.app.domain import AccountName, Email, parse_count, parse_id
from backend.app.errors import InvalidInput

AUDIT_COLUMNS = [
    ("id", "ID"),
    ("occurred_at", "WHEN"),
    ("actor", "ACTOR"),
    ("action", "ACTION"),
    ("target", "TARGET"),
    ("details", "DETAILS"),
]
DEFAULT_LIMIT = 50
MAX_FILTER = 320


def _pattern(value: str | None, field: str) -> str | None:
    if value is not None and (not value or len(value) > MAX_FILTER or not value.isprintable()):
        raise InvalidInput(f"{{field}} must be 1 to {MAX_FILTER} printable characters", field=field)
    return value


@app_task(
    name="list",
    help={
        "user": "only events about this user (its own, and its keys'), deleted or not",
        "account": "only events about this service account (its own, and its keys')",
        "key": "only events about this key id",
        "since": "only events since then: a duration ago (7d) or an ISO 8601 instant",
        "until": "only events before then: a duration ago or an ISO 8601 instant",
        "actor": "only events by this actor; * and ? match anything (e.g. cli:alice@*)",
        "action": "only this action (user.create); * and ? match anything (user.*)",
        "limit": "at most this many events (default: 50, or all with --since/--until)",
    },
)
async def list_(
    rt: Runtime,
    user: str | None = None,
    account: str | None = None,
    key: str | None = None,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: str | None = None,
) -> None:
    """List audit events, newest first, streamed."""
    from backend.app.core.durations import parse_moment
    from backend.app.models import utcnow
    from backend.app.repositories.audit import AuditFilter

    if sum(value is not None for value in (user, account, key)) > 1:
        raise InvalidInput("give at most one of --user, --account and --key")
    now = utcnow()
    subject = f"user:{Email.parse(user)}" if user is not None else None
    if account is not None:
        subject = f"account:{AccountName.parse(account)}"
    windowed = since is not None or until is not None
    chosen = parse_count(limit, field="limit") if limit is not None else None
    filters = AuditFilter(
        subject=subject,
        target=("key", str(parse_id(key, what="key"))) if key is not None else None,
        since=parse_moment(since, field="since", now=now) if since is not None else None,
        until=parse_moment(until, field="until", now=now) if until is not None else None,
        actor=_pattern(actor, "actor"),
        action=_pattern(action, "action"),
        limit=chosen if chosen is not None or windowed else DEFAULT_LIMIT,
    )
    from backend.app.services import audit

    async with audit.list_events(rt.services(), filters) as rows:
        await rt.out.table(rows, AUDIT_COLUMNS, empty="(no audit events)")


@app_task(
    help={
        "before": "delete events older than this (e.g. 365d) or before this ISO 8601 instant "
        "(required)",
        "yes": YES_HELP,
    }
)
async def prune(rt: Runtime, before: str | None = None, yes: bool = False) -> None:
    """Delete old audit events (keeps a record of the prune; refused on a protected database)."""
    from backend.app.cli.revoking import report_prune
    from backend.app.core.durations import parse_moment
    from backend.app.models import utcnow

    if before is None:
        raise InvalidInput("--before is required (e.g. --before 365d)")
    cutoff = parse_moment(before, field="before", now=utcnow())
    from backend.app.services import revocation

    pruned = await revocation.prune_audit(
        rt.services(),
        before=cutoff,
        confirmed=rt.confirmed(yes),
        allow_destructive=rt.switches.allow_destructive,
    )
    report_prune(rt, pruned, what="audit events")
