from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import AuditEvent
from backend.app.repositories import RowSelect

# Retention never deletes the record of a retention.
PRUNE_ACTION = "audit.prune"


@dataclass(frozen=True)
class AuditFilter:
    """Which events: about a subject or one target, in a time window, by actor and action."""

    subject: str | None = None  # "user:bob@example.com", "account:ci"
    target: tuple[str, str] | None = None  # ("key", "42")
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None  # a glob: * and ?
    action: str | None = None  # a glob; "user." is a prefix as well
    limit: int | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    async def add_many(self, events: list[dict[str, Any]]) -> None:
        """Many events in one executemany (a bulk revocation writes one per key)."""
        if events:
            await self.session.execute(insert(AuditEvent), events)

    async def delete_oldest(self, *, before: datetime, batch: int) -> int:
        """Delete up to ``batch`` of the oldest events before ``before`` (never a prune's)."""
        oldest = (
            select(AuditEvent.id)
            .where(AuditEvent.occurred_at < before, AuditEvent.action != PRUNE_ACTION)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        ids = list((await self.session.execute(oldest)).scalars())
        if ids:
            await self.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        return len(ids)

    async def set_details(self, event_id: int, details: dict[str, Any]) -> None:
        await self.session.execute(
            update(AuditEvent).where(AuditEvent.id == event_id).values(details=details)
        )


def glob(column: Any, pattern: str) -> ColumnElement[bool]:
    """``*`` and ``?`` as in a shell; LIKE's own wildcards in the pattern are taken literally."""
    if not any(ch in pattern for ch in "*?"):
        return column == pattern  # type: ignore[no-any-return]
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = escaped.replace("*", "%").replace("?", "_")
    return column.like(like, escape="\\")  # type: ignore[no-any-return]


def list_query(f: AuditFilter) -> RowSelect:
    """Newest first."""
    query = select(
        AuditEvent.id,
        AuditEvent.occurred_at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.target_type,
        AuditEvent.target_id,
        AuditEvent.target,
        AuditEvent.subject,
        AuditEvent.details,
    ).order_by(AuditEvent.id.desc())
    if f.subject is not None:
        query = query.where(AuditEvent.subject == f.subject)
    if f.target is not None:
        query = query.where(
            AuditEvent.target_type == f.target[0], AuditEvent.target_id == f.target[1]
        )
    if f.since is not None:
        query = query.where(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEvent.occurred_at < f.until)
    if f.actor:
        query = query.where(glob(AuditEvent.actor, f.actor))
    if f.action:
        action = f.action + "*" if f.action.endswith(".") else f.action
        query = query.where(glob(AuditEvent.action, action))
    if f.limit is not None:
        query = query.limit(f.limit)
    return query
