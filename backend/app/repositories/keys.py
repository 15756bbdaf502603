from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import ColumnElement, Update, bindparam, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.domain import OwnerKind
from backend.app.models import ApiKey, ServiceAccount, User
from backend.app.repositories import RowSelect


def is_live(now: datetime) -> ColumnElement[bool]:
    """Neither revoked nor expired at ``now`` (the owner's active flag is checked separately)."""
    return ApiKey.revoked_at.is_(None) & (ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now))


def owned_by(kind: OwnerKind, owner_id: int) -> ColumnElement[bool]:
    column = ApiKey.user_id if kind is OwnerKind.USER else ApiKey.service_account_id
    return column == owner_id


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key_id: int, *, for_update: bool = False) -> ApiKey | None:
        query = select(ApiKey).where(ApiKey.id == key_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, key: ApiKey) -> None:
        self.session.add(key)

    async def flush(self) -> None:
        await self.session.flush()

    async def get_successor(self, key_id: int) -> int | None:
        """The key that replaced ``key_id`` through a rotation, if any."""
        query = select(ApiKey.id).where(ApiKey.rotated_from_id == key_id).limit(1)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def count_live(self, *, kind: OwnerKind, owner_id: int, now: datetime) -> int:
        query = select(func.count()).select_from(ApiKey).where(owned_by(kind, owner_id))
        return int((await self.session.execute(query.where(is_live(now)))).scalar_one())

    async def delete_owned_by(self, *, kind: OwnerKind, owner_id: int) -> int:
        """Delete an owner's keys; keys rotated from them forget where they came from.

        The foreign keys would do both (CASCADE, SET NULL), but not while they are off, as
        they are for a dry run on SQLite: spelled out, the result is the same either way.
        """
        owned = select(ApiKey.id).where(owned_by(kind, owner_id)).scalar_subquery()
        await self.session.execute(
            update(ApiKey).where(ApiKey.rotated_from_id.in_(owned)).values(rotated_from_id=None)
        )
        removed = await self.session.execute(delete(ApiKey).where(owned_by(kind, owner_id)))
        return int(getattr(removed, "rowcount", 0) or 0)

    async def get_by_digest(self, digest: str) -> ApiKey | None:
        query = select(ApiKey).where(ApiKey.digest == digest)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def revoke_live_owned_by(
        self, *, kind: OwnerKind, owner_id: int, now: datetime, batch: int
    ) -> list[tuple[int, str]]:
        """Revoke up to ``batch`` of an owner's live keys, oldest first: their ids and prefixes."""
        found = (
            select(ApiKey.id, ApiKey.display_prefix)
            .where(owned_by(kind, owner_id), is_live(now))
            .order_by(ApiKey.id)
            .limit(batch)
        )
        rows = [(int(i), str(p)) for i, p in (await self.session.execute(found)).all()]
        if rows:
            ids = [key_id for key_id, _ in rows]
            await self.session.execute(
                update(ApiKey).where(ApiKey.id.in_(ids)).values(revoked_at=now)
            )
        return rows

    async def delete_dead(self, *, before: datetime, batch: int) -> int:
        """Delete up to ``batch`` keys revoked or expired before ``before``."""
        dead = (
            select(ApiKey.id)
            .where((ApiKey.revoked_at < before) | (ApiKey.expires_at < before))
            .order_by(ApiKey.id)
            .limit(batch)
        )
        ids = list((await self.session.execute(dead)).scalars())
        if ids:
            await self.session.execute(
                update(ApiKey).where(ApiKey.rotated_from_id.in_(ids)).values(rotated_from_id=None)
            )
            await self.session.execute(delete(ApiKey).where(ApiKey.id.in_(ids)))
        return len(ids)

    async def touch(self, *, key_id: int, now: datetime, stale_before: datetime) -> None:
        await self.session.execute(
            touch_statement(), {"key_id": key_id, "now": now, "stale_before": stale_before}
        )


@functools.cache
def lookup_query() -> RowSelect:
    """Everything verification needs, in one indexed lookup by digest (owner joined in)."""
    return (
        select(
            ApiKey.id,
            ApiKey.digest,
            ApiKey.display_prefix,
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
    owner: tuple[OwnerKind, int] | None = None,
    include_all: bool = False,
    unused_since: datetime | None = None,
    expiring_before: datetime | None = None,
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
    if owner is not None:
        query = query.where(owned_by(*owner))
    if not include_all:
        query = query.where(is_live(now))
    if unused_since is not None:
        # Never used counts from its creation: a key made yesterday is not yet stale.
        query = query.where(func.coalesce(ApiKey.last_used_at, ApiKey.created_at) < unused_since)
    if expiring_before is not None:
        query = query.where(ApiKey.expires_at > now, ApiKey.expires_at <= expiring_before)
    return query
