"""Reading the audit trail. Events are written by each change's own unit of work (uow.record);
retention is in services.revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from backend.app.repositories import audit as audit_repo
from backend.app.repositories.audit import AuditFilter
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow


@asynccontextmanager
async def list_events(
    ctx: ServiceContext, filters: AuditFilter
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream events, newest first."""
    async with uow(ctx, write=False) as u:
        yield u.stream(audit_repo.list_query(filters))
