"""Core bulk inserts of the seeded rows, and the count of what the driver was asked to do.

Rows go in with one Core ``insert()`` executemany per batch of ``bench.rows.BATCH``, never
per-row ORM adds; ``counted`` watches the engine so a figure (P6) can prove it. The ORM way is
kept for contrast only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.rows import key_rows, user_rows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from backend.app.core.settings import Settings


@dataclass
class Inserts:
    """What the driver was asked to do while seeding: the proof that it was bulk."""

    executemany_calls: int = 0
    single_inserts: int = 0
    rows: int = 0


@asynccontextmanager
async def counted(engine: AsyncEngine) -> AsyncIterator[Inserts]:
    from sqlalchemy import event

    seen = Inserts()

    def before(
        _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if not statement.lstrip().upper().startswith("INSERT"):
            return
        if many:
            seen.executemany_calls += 1
            seen.rows += len(params)
        else:
            seen.single_inserts += 1
            seen.rows += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def insert_users(engine: AsyncEngine, count: int, *, first_id: int = 1) -> Inserts:
    from sqlalchemy import insert

    from backend.app.models import User

    async with counted(engine) as seen, engine.begin() as conn:
        for batch in user_rows(count, first_id=first_id):
            await conn.execute(insert(User), batch)
    return seen


async def insert_keys(
    engine: AsyncEngine, count: int, *, owners: int, settings: Settings
) -> Inserts:
    from sqlalchemy import insert

    from backend.app.models import ApiKey

    async with counted(engine) as seen, engine.begin() as conn:
        for batch in key_rows(count, owners=owners, settings=settings):
            await conn.execute(insert(ApiKey), batch)
    return seen


async def add_users_orm(engine: AsyncEngine, count: int) -> Inserts:
    """The slow way, for contrast only: one ORM object per row through a Session."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from backend.app.models import User

    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with counted(engine) as seen, maker() as session, session.begin():
        for batch in user_rows(count):
            session.add_all(User(**row) for row in batch)
    return seen
