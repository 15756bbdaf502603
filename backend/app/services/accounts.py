"""Service account use cases: non-human principals that own API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from backend.app.domain import AccountName, parse_text
from backend.app.errors import AlreadyExists
from backend.app.models import ServiceAccount
from backend.app.repositories import accounts as accounts_repo
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow

MAX_DESCRIPTION = 500


async def create_account(
    ctx: ServiceContext, *, name: AccountName, description: str | None = None
) -> ServiceAccount:
    description = parse_text(description, field="description", limit=MAX_DESCRIPTION)
    account = ServiceAccount(name=name, description=description, is_active=True)
    try:
        async with uow(ctx) as u:
            if await u.accounts.get_by_name(name) is not None:
                raise AlreadyExists(f"service account {name} already exists")
            u.accounts.add(account)
            await u.flush()
            u.record("account.create", account)
    except AlreadyExists:
        raise AlreadyExists(f"service account {name} already exists") from None
    return account


@asynccontextmanager
async def list_accounts(
    ctx: ServiceContext, *, include_inactive: bool = False
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    async with uow(ctx, write=False) as u:
        yield u.stream(accounts_repo.list_query(include_inactive=include_inactive))
