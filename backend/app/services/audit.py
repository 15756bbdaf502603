"""The audit trail: one event per change, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.errors import InvalidInput
from backend.app.models import AuditEvent, utcnow
from backend.app.repositories import audit as repo
from backend.app.services.context import ServiceContext


def record(
    session: AsyncSession,
    ctx: ServiceContext,
    *,
    action: str,
    target_type: str,
    target_id: int | str | None,
    target: str | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add the event to the change's own transaction: both commit, or neither does.

    ``details`` must never carry a secret; callers pass only names, flags and ids.
    """
    repo.add(
        session,
        AuditEvent(
            occurred_at=utcnow(),
            actor=ctx.actor,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            target=target,
            details=dict(details or {}),
        ),
    )


@asynccontextmanager
async def list_events(
    ctx: ServiceContext,
    *,
    limit: int | None = 50,
    action: str | None = None,
    actor: str | None = None,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream events, newest first."""
    for flag, value in (("--action", action), ("--actor", actor)):
        if value is not None and (not value or len(value) > 320 or not value.isprintable()):
            raise InvalidInput(f"{flag} must be 1 to 320 printable characters")
    async with ctx.stream(repo.list_query(limit=limit, action=action, actor=actor)) as rows:
        yield rows
