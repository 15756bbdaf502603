"""P4 on PostgreSQL: ``authenticate`` in process against bare asyncpg doing the same lookup.

The limit is the driver itself, measured in the same run on the same table: asyncpg alone
running the SQL ``authenticate`` runs (compiled from the same query), on one connection for the
serial figure and on 8 connections with a caller each for the concurrent one. ``authenticate``
runs as an application runs it: one ServiceContext for the whole process, its 2,000 keys used
once before the timings start, 8 callers sharing the context for the concurrent figure. Both
sides use the settings of a deployment that connects directly (statement cache on).

Through PgBouncer in transaction mode both sides run with the caches off, as they must there
(the project's default): asyncpg prepares an unnamed statement for every lookup. The pooler
gets as many server connections as the callers, so it measures the cure, not a queue.

Every side runs in chunks; the chunks take turns (the order rotates each round), so the
machine's noise falls on all sides alike; each side's rate is the median of its chunks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import pg
from bench.context import Bench
from bench.measure import median
from bench.report import Result
from bench.seed import KEY_OWNERS, bench_key

if TYPE_CHECKING:
    import asyncpg

    from backend.app.services.context import ServiceContext

SAMPLE = 2_000
CALLERS = 8
TARGET = 0.5
SERIAL_CHUNK = 1_000
CONCURRENT_CHUNK = 2_000
UNCACHED_CHUNK = 500  # lookups prepared every time are slower: shorter chunks, same seconds
SIZES = (100_000, 1_000_000)


@dataclass
class Side:
    name: str
    chunk: int
    lookups: Callable[[int], Awaitable[float]]  # seconds for that many lookups
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median(self.rates)


@dataclass
class Seeded:
    keys: int
    database: str
    sample: list[str]
    digests: list[str]


@dataclass
class Writes:
    first_use: int = 0
    repeats: int = 0
    recorded: int = 0
    first_uses: int = 0
    timed: int = 0


# -- the two sides ---------------------------------------------------------------------------


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


# -- seeding ---------------------------------------------------------------------------------


def _sample(keys: int, prefix: str, pepper: bytes | None) -> tuple[list[str], list[str]]:
    from backend.app.core.keys import digest

    picked = random.Random(keys).sample(range(keys), min(SAMPLE, keys))  # noqa: S311
    raw = [bench_key(i, prefix) for i in picked]
    return raw, [digest(key, pepper) for key in raw]


async def _seed(server: pg.Server, name: str, *, start: int, count: int) -> None:
    settings = pg.settings_for(server.bench, pg.app_url(server.url, name))
    async with pg.connected(server.url, name) as conn:
        if start == 0:
            await pg.copy_users(conn, KEY_OWNERS)
        await pg.copy_keys(conn, count, owners=KEY_OWNERS, settings=settings, start=start)
        await pg.analyze(conn)


def seed(bench: Bench, server: pg.Server, sizes: tuple[int, ...]) -> list[Seeded]:
    """One database per size; each bigger one starts as a copy of the one before."""
    seeded: list[Seeded] = []
    previous: str | None = None
    settings = pg.settings_for(bench, pg.app_url(server.url))
    prefix = settings.api_keys.prefix
    for keys in sizes:
        started = time.perf_counter()
        name = server.copy(f"keys{keys}", previous)
        done = 0 if previous is None else seeded[-1].keys
        asyncio.run(_seed(server, name, start=done, count=keys - done))
        bench.progress(
            f"seeded {keys:,} keys on PostgreSQL in {time.perf_counter() - started:.1f} s"
        )
        seeded.append(Seeded(keys, name, *_sample(keys, prefix, None)))
        previous = name
    return seeded


# -- measuring -------------------------------------------------------------------------------


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


async def _rounds(sides: list[Side], rounds: int) -> None:
    for turn in range(rounds):
        shift = turn % len(sides)
        order = sides[shift:] + sides[:shift]
        for side in order:
            side.rates.append(side.chunk / await side.lookups(side.chunk))


async def _measure(
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
        await _rounds(sides, rounds)
        writes.repeats += first[0]
        writes.timed += sum(len(s.rates) * s.chunk for s in sides if s.name.startswith("app"))
        return {side.name: side for side in sides}
    finally:
        for each in bares:
            await each.close()
        for ctx in contexts:
            await ctx.database.finish()


def _ratio(app: Side, bare: Side) -> float:
    return app.rate / bare.rate


def _paired(app: Side, bare: Side) -> float:
    """The median of the per-round ratios: a second opinion that drift cannot bias."""
    return median([a / b for a, b in zip(app.rates, bare.rates, strict=True)])


def _vs(
    what: str, app: Side, bare: Side, *, against: str, details: dict[str, Any] | None = None
) -> Result:
    ratio = _ratio(app, bare)
    return Result(
        figure="P4-PG",
        what=what,
        target=f">= {TARGET:.2f}x {against}",
        measured=(
            f"{ratio:.2f}x ({app.rate:,.0f}/s vs {bare.rate:,.0f}/s; "
            f"per round {_paired(app, bare):.2f}x)"
        ),
        met=ratio >= TARGET,
        value=round(ratio, 3),
        limit=TARGET,
        details={
            "app_rates": [round(r) for r in app.rates],
            "bare_rates": [round(r) for r in bare.rates],
            "paired_ratio": round(_paired(app, bare), 3),
        }
        | (details or {}),
    )


WHATS = [
    "authenticate, 100k keys, 1 caller",
    f"authenticate, 100k keys, {CALLERS} callers",
    "authenticate, 1M keys, 1 caller",
    f"authenticate, 1M keys, {CALLERS} callers",
    "last_used_at writes (PostgreSQL)",
    "via PgBouncer (caches off), 1 caller",
    f"via PgBouncer (caches off), {CALLERS} callers",
    "direct (cache on) / via PgBouncer",
]


def p4_pg(bench: Bench) -> list[Result]:
    url = pg.server_url()
    if url is None:
        return pg.skipped("P4-PG", WHATS)
    sizes = SIZES[:1] if bench.quick else SIZES
    rounds = bench.reps(9, quick=3)
    missing = pg.pgbouncer_missing()
    results: list[Result] = []
    writes = Writes()
    with pg.server(bench, url) as server:
        seeded = seed(bench, server, sizes)
        measured: dict[int, dict[str, Side]] = {}
        for each in seeded:
            with_pooler = each.keys == sizes[0] and missing is None
            bench.progress(
                f"P4-PG authenticate vs bare asyncpg at {each.keys:,} keys: {rounds} rounds"
                + (" (also through PgBouncer)" if with_pooler else "")
            )
            if with_pooler:
                with pg.pgbouncer(bench, url, pool_size=CALLERS) as pooled:
                    measured[each.keys] = asyncio.run(
                        _measure(bench, url, each, rounds=rounds, pooled_url=pooled, writes=writes)
                    )
            else:
                measured[each.keys] = asyncio.run(
                    _measure(bench, url, each, rounds=rounds, pooled_url=None, writes=writes)
                )
    for keys, label in ((100_000, "100k"), (1_000_000, "1M")):
        sides = measured.get(keys)
        if sides is None:
            results += [
                Result("P4-PG", f"authenticate, {label} keys, {n}", "-", "not run (--quick)", None)
                for n in ("1 caller", f"{CALLERS} callers")
            ]
            continue
        results.append(
            _vs(
                f"authenticate, {label} keys, 1 caller",
                sides["app 1"],
                sides["bare 1"],
                against="bare asyncpg",
            )
        )
        results.append(
            _vs(
                f"authenticate, {label} keys, {CALLERS} callers",
                sides[f"app {CALLERS}"],
                sides[f"bare {CALLERS}"],
                against=f"asyncpg, {CALLERS} conns",
            )
        )
    results.append(
        Result(
            figure="P4-PG",
            what="last_used_at writes (PostgreSQL)",
            target="not one per verification",
            measured=(
                f"{writes.first_use:,} UPDATEs for {writes.first_uses:,} first uses "
                f"({writes.recorded:,} recorded); {writes.repeats} in {writes.timed:,} repeats"
            ),
            met=writes.repeats == 0
            and writes.first_use <= writes.first_uses
            and writes.recorded == writes.first_uses,
            details=vars(writes),
        )
    )
    small = measured[sizes[0]]
    if "pooled app 1" not in small:
        return results + pg.skipped("P4-PG", WHATS[5:], f"skipped: {missing}")
    results.append(
        _vs(
            "via PgBouncer (caches off), 1 caller",
            small["pooled app 1"],
            small["pooled bare 1"],
            against="asyncpg, no cache",
        )
    )
    results.append(
        _vs(
            f"via PgBouncer (caches off), {CALLERS} callers",
            small[f"pooled app {CALLERS}"],
            small[f"pooled bare {CALLERS}"],
            against="asyncpg, no cache",
        )
    )
    serial = _ratio(small["app 1"], small["pooled app 1"])
    concurrent = _ratio(small[f"app {CALLERS}"], small[f"pooled app {CALLERS}"])
    results.append(
        Result(
            figure="P4-PG",
            what="direct (cache on) / via PgBouncer",
            target="(reported)",
            measured=(
                f"{serial:.2f}x serially ({small['app 1'].rate:,.0f}/s vs "
                f"{small['pooled app 1'].rate:,.0f}/s), {concurrent:.2f}x with {CALLERS} callers"
            ),
            met=None,
            value=round(serial, 3),
            details={"serial": round(serial, 3), "concurrent": round(concurrent, 3)},
        )
    )
    return results
