from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from backend.app.core.db import Database
    from backend.app.core.security import PasswordHasher
    from backend.app.core.settings import Settings
    from backend.app.repositories import RowSelect

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceContext:
    """What every use case needs: settings, the run's database, and who is acting."""

    settings: Settings
    db: Database
    actor: str

    @cached_property
    def passwords(self) -> PasswordHasher:
        from backend.app.core.security import PasswordHasher

        return PasswordHasher(self.settings.passwords)

    @asynccontextmanager
    async def stream(self, query: RowSelect) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
        """Rows of ``query`` as mappings, fetched in batches inside one read transaction.

        The rows are plain columns, so the query runs on the session's connection as Core:
        the ORM's per-row loading machinery would only add cost.
        """
        async with self.db.transaction(write=False) as session:
            conn = await session.connection()
            result = await conn.stream(query.execution_options(yield_per=1000))

            keys = list(result.keys())

            async def rows() -> AsyncIterator[Mapping[str, Any]]:
                # A batch per await: iterating the AsyncResult row by row costs one greenlet
                # switch per row, more than the query itself (`python -m bench --only P5`).
                async for batch in result.partitions():
                    for row in batch:
                        yield dict(zip(keys, row, strict=True))

            yield rows()


@dataclass(frozen=True)
class Change(Generic[T]):
    """The outcome of an idempotent use case: the thing, and whether anything changed."""

    value: T
    changed: bool
