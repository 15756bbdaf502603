from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.models import ApiKey


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
