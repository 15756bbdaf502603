"""P4-PG's two sides, timed the same way: bare asyncpg and ``authenticate``.

Each side gives the seconds a number of lookups take, spread over its callers; a ``Side`` keeps
the rate of every chunk it ran, and ``take_turns`` runs the sides' chunks in rotating order so
the machine's noise falls on all of them alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.measure import median

if TYPE_CHECKING:
    import asyncpg

    from backend.app.services.context import ServiceContext


@dataclass
class Side:
    name: str
    chunk: int
    lookups: Callable[[int], Awaitable[float]]  # seconds for that many lookups
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median(self.rates)


async def _callers(count: int, callers: int, call: Callable[[int], Awaitable[Any]]) -> float:
    """Seconds for ``count`` calls spread over ``callers`` concurrent loops."""
    per = count // callers

    async def caller(offset: int) -> None:
        for i in range(per):
            await call(offset + i * callers)

    start = time.perf_counter()
    if callers == 1:
        await caller(0)
    else:
        await asyncio.gather(*(caller(k) for k in range(callers)))
    return time.perf_counter() - start


class Bare:
    """asyncpg alone: the same SQL on ``callers`` connections, one caller each."""

    def __init__(self, url: str, sql: str, digests: list[str], *, cache: bool, callers: int):
        self.url, self.sql, self.digests = url, sql, digests
        self.cache, self.callers = cache, callers
        self.conns: list[asyncpg.Connection] = []

    async def open(self) -> None:
        import asyncpg

        size = 100 if self.cache else 0  # asyncpg's default, or off as behind a pooler
        for _ in range(self.callers):
            self.conns.append(await asyncpg.connect(self.url, statement_cache_size=size))
        for digest in self.digests[: self.callers * 4]:  # each connection prepares once
            if await self.conns[0].fetchrow(self.sql, digest) is None:
                raise RuntimeError("bare asyncpg did not find a seeded key")

    async def lookups(self, count: int) -> float:
        digests, sql, conns, n = self.digests, self.sql, self.conns, len(self.digests)

        async def call(i: int) -> None:
            await conns[i % self.callers].fetchrow(sql, digests[i % n])

        return await _callers(count, self.callers, call)

    async def close(self) -> None:
        for conn in self.conns:
            await conn.close()


class App:
    """``authenticate`` on one ServiceContext shared by ``callers`` concurrent loops."""

    def __init__(self, ctx: ServiceContext, keys: list[str], *, callers: int) -> None:
        self.ctx, self.keys, self.callers = ctx, keys, callers

    async def lookups(self, count: int) -> float:
        from backend.app.services.authn import authenticate

        ctx, keys, n = self.ctx, self.keys, len(self.keys)

        async def call(i: int) -> None:
            await authenticate(ctx, keys[i % n])

        return await _callers(count, self.callers, call)


async def take_turns(sides: list[Side], rounds: int) -> None:
    """``rounds`` chunks of every side, the order rotating each round; rates kept per chunk."""
    for turn in range(rounds):
        shift = turn % len(sides)
        order = sides[shift:] + sides[:shift]
        for side in order:
            side.rates.append(side.chunk / await side.lookups(side.chunk))
