"""Reading the audit trail. Events are written by each change's own unit of work (uow.record)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from backend.app.errors import InvalidInput
from backend.app.repositories import audit as audit_repo
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow

MAX_FILTER = 320


@asynccontextmanager
async def list_events(
    ctx: ServiceContext,
    *,
    limit: int | None = 50,
    action: str | None = None,
    actor: str | None = None,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream events, newest first."""
    for field, value in (("action", action), ("actor", actor)):
        if value is not None and (not value or len(value) > MAX_FILTER or not value.isprintable()):
            raise InvalidInput(
                f"{{field}} must be 1 to {MAX_FILTER} printable characters", field=field
            )
    async with uow(ctx, write=False) as u:
        yield u.stream(audit_repo.list_query(limit=limit, action=action, actor=actor))
