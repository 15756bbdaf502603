from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.domain import AccountName
from backend.app.models import ServiceAccount
from backend.app.repositories import RowSelect


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(
        self, name: AccountName, *, for_update: bool = False
    ) -> ServiceAccount | None:
        query = select(ServiceAccount).where(ServiceAccount.name == name)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """New rows in one executemany (the ORM writes one statement per new object on SQLite,
        which cannot hand back generated ids in order); the caller loads them if it needs them."""
        if rows:
            await self.session.execute(insert(ServiceAccount), rows)

    async def get_many_by_name(
        self, names: Sequence[AccountName], *, for_update: bool = False
    ) -> dict[str, ServiceAccount]:
        """The accounts of ``names`` that exist, by name: one query for a batch."""
        query = select(ServiceAccount).where(ServiceAccount.name.in_(names))
        if for_update:
            query = query.with_for_update()
        found = (await self.session.execute(query)).scalars()
        return {account.name: account for account in found}

    async def get(self, account_id: int) -> ServiceAccount | None:
        return await self.session.get(ServiceAccount, account_id)

    def add(self, account: ServiceAccount) -> None:
        self.session.add(account)

    async def delete(self, account: ServiceAccount) -> None:
        await self.session.delete(account)


def list_query(*, include_inactive: bool = False) -> RowSelect:
    query = select(
        ServiceAccount.id,
        ServiceAccount.name,
        ServiceAccount.description,
        ServiceAccount.is_active.label("active"),
        ServiceAccount.created_at,
        ServiceAccount.updated_at,
    ).order_by(ServiceAccount.name)
    if not include_inactive:
        query = query.where(ServiceAccount.is_active.is_(true()))
    return query


def export_query() -> RowSelect:
    """What recreates a service account elsewhere, in id order."""
    return select(
        ServiceAccount.name,
        ServiceAccount.description,
        ServiceAccount.is_active.label("active"),
        ServiceAccount.created_at,
    ).order_by(ServiceAccount.id)
