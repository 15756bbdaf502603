from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import ColumnElement, Update, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import ApiKey, ServiceAccount, User
from backend.app.repositories import RowSelect


def is_live(now: datetime) -> ColumnElement[bool]:
    """Neither revoked nor expired at ``now`` (the owner's active flag is checked separately)."""
    return ApiKey.revoked_at.is_(None) & (ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now))


async def count_live(
    session: AsyncSession,
    *,
    now: datetime,
    user_id: int | None = None,
    account_id: int | None = None,
) -> int:
    owner = (
        ApiKey.user_id == user_id
        if user_id is not None
        else (ApiKey.service_account_id == account_id)
    )
    query = select(func.count()).select_from(ApiKey).where(owner, is_live(now))
    return int((await session.execute(query)).scalar_one())


async def get(session: AsyncSession, *, key_id: int, for_update: bool = False) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.id == key_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)


async def get_successor(session: AsyncSession, *, key_id: int) -> int | None:
    """The key that replaced ``key_id`` through a rotation, if any."""
    query = select(ApiKey.id).where(ApiKey.rotated_from_id == key_id).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


@functools.cache
def lookup_query() -> RowSelect:
    """Everything verification needs, in one indexed lookup by digest (owner joined in)."""
    return (
        select(
            ApiKey.id,
            ApiKey.digest,
            ApiKey.scopes,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.user_id,
            ApiKey.service_account_id,
            User.email,
            User.role,
            User.is_active.label("user_active"),
            ServiceAccount.name.label("account_name"),
            ServiceAccount.is_active.label("account_active"),
        )
        .outerjoin(User, User.id == ApiKey.user_id)
        .outerjoin(ServiceAccount, ServiceAccount.id == ApiKey.service_account_id)
        .where(ApiKey.digest == bindparam("digest"))
    )


@functools.cache
def touch_statement() -> Update:
    """Record use at most once per resolution window: a no-op write when it is fresh enough."""
    return (
        update(ApiKey)
        .where(
            ApiKey.id == bindparam("key_id"),
            ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < bindparam("stale_before")),
        )
        .values(last_used_at=bindparam("now"))
    )


def list_query(
    *,
    now: datetime,
    user_id: int | None = None,
    account_id: int | None = None,
    include_all: bool = False,
) -> RowSelect:
    query = (
        select(
            ApiKey.id,
            ApiKey.display_prefix,
            ApiKey.name,
            case((ApiKey.user_id.is_not(None), "user"), else_="account").label("owner_type"),
            func.coalesce(User.email, ServiceAccount.name).label("owner"),
            ApiKey.scopes,
            ApiKey.created_at,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.rotated_from_id,
            func.coalesce(User.is_active, ServiceAccount.is_active).label("owner_active"),
        )
        .outerjoin(User, User.id == ApiKey.user_id)
        .outerjoin(ServiceAccount, ServiceAccount.id == ApiKey.service_account_id)
        .order_by(ApiKey.id)
    )
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if account_id is not None:
        query = query.where(ApiKey.service_account_id == account_id)
    if not include_all:
        query = query.where(is_live(now))
    return query
