from __future__ import annotations

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import User
from backend.app.repositories import RowSelect
from backend.app.repositories.text import contains


async def get_by_email(
    session: AsyncSession, *, email: str, for_update: bool = False
) -> User | None:
    query = select(User).where(User.email == email)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def add(session: AsyncSession, user: User) -> None:
    session.add(user)


async def count_active_admins(session: AsyncSession, *, excluding: int | None = None) -> int:
    """Active admins other than ``excluding``; the rows are locked so two demotions serialise."""
    query = select(User.id).where(User.role == "admin", User.is_active.is_(true()))
    if excluding is not None:
        query = query.where(User.id != excluding)
    ids = (await session.execute(query.with_for_update())).scalars().all()
    return len(ids)


def list_query(
    *,
    role: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    limit: int | None = None,
) -> RowSelect:
    """Plain rows (not ORM objects) in id order: cheap to stream by the hundred thousand."""
    query = select(
        User.id,
        User.email,
        User.name,
        User.role,
        User.is_active.label("active"),
        User.created_at,
        User.last_login_at,
    ).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active.is_(true() if active else false()))
    if search:
        query = query.where(or_(contains(User.email, search), contains(User.name, search)))
    if limit is not None:
        query = query.limit(limit)
    return query


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())
