"""Service account use cases: non-human principals that own API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.db import is_unique_violation
from backend.app.domain import normalize_account_name, normalize_text
from backend.app.errors import AlreadyExists, NotFound
from backend.app.models import ApiKey, ServiceAccount, utcnow
from backend.app.repositories import accounts as repo
from backend.app.repositories import keys as keys_repo
from backend.app.services import audit
from backend.app.services.context import Change, ServiceContext
from backend.app.services.guards import require_confirmation


@dataclass(frozen=True)
class Deleted:
    account: ServiceAccount
    keys_deleted: int


async def create_account(
    ctx: ServiceContext, *, name: str, description: str | None = None
) -> ServiceAccount:
    name = normalize_account_name(name)
    description = normalize_text(description, what="--description", limit=500)
    account = ServiceAccount(name=name, description=description, is_active=True)
    try:
        async with ctx.db.transaction() as session:
            repo.add(session, account)
            await session.flush()
            audit.record(
                session,
                ctx,
                action="account.create",
                target_type="account",
                target_id=account.id,
                target=name,
            )
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        raise AlreadyExists(f"service account {name} already exists") from None
    return account


async def get_account(ctx: ServiceContext, *, name: str) -> tuple[ServiceAccount, int]:
    """The account and how many live API keys it owns."""
    name = normalize_account_name(name)
    async with ctx.db.transaction(write=False) as session:
        account = await _require(session, name)
        return account, await keys_repo.count_live(session, now=utcnow(), account_id=account.id)


@asynccontextmanager
async def list_accounts(
    ctx: ServiceContext, *, include_inactive: bool = False
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    async with ctx.stream(repo.list_query(include_inactive=include_inactive)) as rows:
        yield rows


async def set_active(ctx: ServiceContext, *, name: str, active: bool) -> Change[ServiceAccount]:
    """Activate or deactivate; a deactivated account's API keys stop verifying meanwhile."""
    name = normalize_account_name(name)
    async with ctx.db.transaction() as session:
        account = await _require(session, name, for_update=True)
        if account.is_active == active:
            return Change(account, changed=False)
        account.is_active = active
        audit.record(
            session,
            ctx,
            action="account.activate" if active else "account.deactivate",
            target_type="account",
            target_id=account.id,
            target=account.name,
        )
    return Change(account, changed=True)


async def delete_account(ctx: ServiceContext, *, name: str, confirmed: bool) -> Deleted:
    """Delete an account and its API keys, in one transaction (destructive: needs confirmation)."""
    name = normalize_account_name(name)
    require_confirmation(ctx.settings, confirmed=confirmed, action="accounts.delete")
    async with ctx.db.transaction() as session:
        account = await _require(session, name, for_update=True)
        removed = await session.execute(
            delete(ApiKey).where(ApiKey.service_account_id == account.id)
        )
        keys_deleted = int(getattr(removed, "rowcount", 0) or 0)
        await session.delete(account)
        audit.record(
            session,
            ctx,
            action="account.delete",
            target_type="account",
            target_id=account.id,
            target=account.name,
            details={"keys_deleted": keys_deleted},
        )
    return Deleted(account, keys_deleted)


async def _require(session: AsyncSession, name: str, *, for_update: bool = False) -> ServiceAccount:
    account = await repo.get_by_name(session, name=name, for_update=for_update)
    if account is None:
        raise NotFound(f"no service account {name}")
    return account
