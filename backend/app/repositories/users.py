from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, insert, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.domain import Email, Role
from backend.app.models import User
from backend.app.repositories import RowSelect
from backend.app.repositories.text import contains, utc_text


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_email(self, email: Email, *, for_update: bool = False) -> User | None:
        query = select(User).where(User.email == email)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """New rows in one executemany (the ORM writes one statement per new object on SQLite,
        which cannot hand back generated ids in order); the caller loads them if it needs them."""
        if rows:
            await self.session.execute(insert(User), rows)

    async def get_many_by_email(
        self, emails: Sequence[Email], *, for_update: bool = False
    ) -> dict[str, User]:
        """The users of ``emails`` that exist, by email: one query for a batch."""
        query = select(User).where(User.email.in_(emails))
        if for_update:
            query = query.with_for_update()
        return {user.email: user for user in (await self.session.execute(query)).scalars()}

    def add(self, user: User) -> None:
        self.session.add(user)

    async def delete(self, user: User) -> None:
        await self.session.delete(user)

    async def count_active_admins(self, *, excluding: int | None = None) -> int:
        """Active admins other than ``excluding``; the rows are locked so two demotions
        serialise."""
        query = select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(true()))
        if excluding is not None:
            query = query.where(User.id != excluding)
        ids = (await self.session.execute(query.with_for_update())).scalars().all()
        return len(ids)

    async def count(self) -> int:
        return int(
            (await self.session.execute(select(func.count()).select_from(User))).scalar_one()
        )


def list_query(
    *,
    role: Role | None = None,
    active: bool | None = None,
    search: str | None = None,
    no_login_since: datetime | None = None,
    limit: int | None = None,
    times_as_text: bool = False,
) -> RowSelect:
    """Plain rows (not ORM objects) in id order: cheap to stream by the hundred thousand. With
    ``times_as_text`` the timestamps come as the ISO 8601 UTC text output prints."""
    as_listed = utc_text if times_as_text else _as_is
    query = select(
        User.id,
        User.email,
        User.name,
        User.role,
        User.is_active.label("active"),
        as_listed(User.created_at).label("created_at"),
        as_listed(User.last_login_at).label("last_login_at"),
    ).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active.is_(true() if active else false()))
    if search:
        query = query.where(or_(contains(User.email, search), contains(User.name, search)))
    if no_login_since is not None:
        query = query.where(User.last_login_at.is_(None) | (User.last_login_at < no_login_since))
    if limit is not None:
        query = query.limit(limit)
    return query


def export_query(*, with_password_hashes: bool) -> RowSelect:
    """What recreates a user elsewhere, in id order; the hash only when asked for."""
    columns = [
        User.email,
        User.name,
        User.role,
        User.is_active.label("active"),
        User.created_at,
        User.last_login_at,
    ]
    if with_password_hashes:
        columns.append(User.password_hash)
    return select(*columns).order_by(User.id)


def _as_is(column: Any) -> Any:
    return column
