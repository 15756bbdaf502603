from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import ServiceAccount
from backend.app.repositories import RowSelect


async def get_by_name(
    session: AsyncSession, *, name: str, for_update: bool = False
) -> ServiceAccount | None:
    query = select(ServiceAccount).where(ServiceAccount.name == name)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def add(session: AsyncSession, account: ServiceAccount) -> None:
    session.add(account)


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
