"""P4-PG on one database: every side built, warmed up and timed in turns, writes counted.

Directly, ``authenticate`` on a ServiceContext with the statement cache on runs against bare
asyncpg on as many connections as callers, serially and with ``CALLERS`` callers; through
PgBouncer (when one is given) the same with the caches off. The ``UPDATE``s recording first and
repeated uses are counted on the application's engine, into ``Writes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench import pg
from bench.authn_pg_seed import Seeded
from bench.authn_pg_sides import App, Bare, Side, take_turns
from bench.context import Bench

if TYPE_CHECKING:
    from backend.app.services.context import ServiceContext

CALLERS = 8
SERIAL_CHUNK = 1_000
CONCURRENT_CHUNK = 2_000
UNCACHED_CHUNK = 500  # lookups prepared every time are slower: shorter chunks, same seconds


@dataclass
class Writes:
    first_use: int = 0
    repeats: int = 0
    recorded: int = 0
    first_uses: int = 0
    timed: int = 0


def _count_updates(ctx: ServiceContext, seen: list[int]) -> None:
    from sqlalchemy import event

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            seen[0] += 1

    event.listen(ctx.database.engine().sync_engine, "before_cursor_execute", before)


async def _recorded(url: str, database: str) -> int:
    async with pg.connected(url, database) as conn:
        found = await conn.fetchval("SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL")
        return int(found)


def _lookup_sql() -> str:
    from sqlalchemy.dialects import postgresql

    from backend.app.core.hot_path import Prepared
    from backend.app.repositories.keys import lookup_query

    dialect: Any = postgresql.asyncpg.dialect  # untyped in SQLAlchemy's stubs
    return Prepared.of(lookup_query(), dialect()).sql


async def time_database(
    bench: Bench,
    url: str,
    seeded: Seeded,
    *,
    rounds: int,
    pooled_url: str | None,
    writes: Writes,
) -> dict[str, Side]:
    from backend.app.core.database import Database
    from backend.app.services.context import ServiceContext

    sql = _lookup_sql()
    direct = pg.dsn(url, seeded.database)
    contexts: list[ServiceContext] = []
    bares: list[Bare] = []

    def context(target: str, *, cache: bool) -> ServiceContext:
        settings = pg.settings_for(
            bench, pg.app_url(target, seeded.database), database_statement_cache=cache
        )
        ctx = ServiceContext(settings, Database(settings), "bench")
        contexts.append(ctx)
        return ctx

    async def bare(target: str, *, cache: bool, callers: int) -> Bare:
        side = Bare(
            pg.dsn(target, seeded.database), sql, seeded.digests, cache=cache, callers=callers
        )
        bares.append(side)
        await side.open()
        return side

    try:
        app = context(direct, cache=True)
        first = [0]
        _count_updates(app, first)
        await App(app, seeded.sample, callers=1).lookups(len(seeded.sample))  # first use
        writes.first_use += first[0]
        writes.first_uses += len(seeded.sample)
        writes.recorded += await _recorded(url, seeded.database)
        first[0] = 0
        sides = [
            Side("bare 1", SERIAL_CHUNK, (await bare(direct, cache=True, callers=1)).lookups),
            Side("app 1", SERIAL_CHUNK, App(app, seeded.sample, callers=1).lookups),
            Side(
                f"bare {CALLERS}",
                CONCURRENT_CHUNK,
                (await bare(direct, cache=True, callers=CALLERS)).lookups,
            ),
            Side(
                f"app {CALLERS}", CONCURRENT_CHUNK, App(app, seeded.sample, callers=CALLERS).lookups
            ),
        ]
        if pooled_url is not None:
            pooled = context(pooled_url, cache=False)
            await App(pooled, seeded.sample, callers=CALLERS).lookups(CALLERS * 4)  # connect
            sides += [
                Side(
                    "pooled bare 1",
                    UNCACHED_CHUNK,
                    (await bare(pooled_url, cache=False, callers=1)).lookups,
                ),
                Side("pooled app 1", UNCACHED_CHUNK, App(pooled, seeded.sample, callers=1).lookups),
                Side(
                    f"pooled bare {CALLERS}",
                    UNCACHED_CHUNK * 2,
                    (await bare(pooled_url, cache=False, callers=CALLERS)).lookups,
                ),
                Side(
                    f"pooled app {CALLERS}",
                    UNCACHED_CHUNK * 2,
                    App(pooled, seeded.sample, callers=CALLERS).lookups,
                ),
            ]
        for side in sides:  # warm-up: connections opened, statements prepared
            await side.lookups(side.chunk // 4)
        await take_turns(sides, rounds)
        writes.repeats += first[0]
        writes.timed += sum(len(s.rates) * s.chunk for s in sides if s.name.startswith("app"))
        return {side.name: side for side in sides}
    finally:
        for each in bares:
            await each.close()
        for ctx in contexts:
            await ctx.database.finish()
