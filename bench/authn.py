"""P4: ``services.keys.authenticate`` in process, on SQLite databases of 1k, 100k and 1M keys.

The same 1,000 keys (picked at random from each database) are verified over and over; the sizes
take turns, chunk by chunk, so the machine's noise falls on all of them alike. Writes are counted
on the engine ``ctx.db.transaction()`` uses (``authenticate`` reads through ``read_first``, a raw
driver call that no SQLAlchemy event sees, and writes ``last_used_at`` through a transaction).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.context import Bench
from bench.measure import median
from bench.report import Result
from bench.rows import KEY_OWNERS, bench_key
from bench.seed import seeded, settings_for

if TYPE_CHECKING:
    from backend.app.services.context import ServiceContext

SAMPLE = 1_000
CHUNK = 1_000  # verifications per timed chunk: short, so the sizes alternate often
RATE_TARGET = 5_000
SCALE_TARGET = 1.3


@dataclass
class Size:
    keys: int
    ctx: ServiceContext
    sample: list[str]
    updates: int = 0
    first_use_updates: int = 0
    recorded: int = 0
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median(self.rates)


def _count_updates(size: Size) -> None:
    from sqlalchemy import event

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            size.updates += 1

    event.listen(size.ctx.database.engine().sync_engine, "before_cursor_execute", before)


async def _forget_last_use(ctx: ServiceContext) -> None:
    from sqlalchemy import update

    from backend.app.models import ApiKey
    from backend.app.services.uow import uow

    async with uow(ctx) as u:
        await u.session.execute(
            update(ApiKey).where(ApiKey.last_used_at.is_not(None)).values(last_used_at=None)
        )


async def _recorded(ctx: ServiceContext) -> int:
    from sqlalchemy import func, select

    from backend.app.models import ApiKey
    from backend.app.services.uow import uow

    async with uow(ctx, write=False) as u:
        query = select(func.count()).where(ApiKey.last_used_at.is_not(None))
        return int((await u.session.execute(query)).scalar_one())


async def _open(bench: Bench, keys: int, database: Path) -> Size:
    from backend.app.core.database import Database
    from backend.app.services.context import ServiceContext

    settings = settings_for(bench, database)
    ctx = ServiceContext(settings, Database(settings), "bench")
    prefix = settings.api_keys.prefix
    picked = random.Random(keys).sample(range(keys), min(SAMPLE, keys))  # noqa: S311
    size = Size(keys=keys, ctx=ctx, sample=[bench_key(i, prefix) for i in picked])
    await _forget_last_use(ctx)
    _count_updates(size)
    return size


async def _verify(size: Size, count: int) -> float:
    from backend.app.services.authn import authenticate

    sample = size.sample
    start = time.perf_counter()
    for i in range(count):
        await authenticate(size.ctx, sample[i % len(sample)])
    return time.perf_counter() - start


async def _measure(bench: Bench, databases: dict[int, Path], rounds: int) -> list[Size]:
    sizes = [await _open(bench, keys, path) for keys, path in databases.items()]
    try:
        for size in sizes:  # first use of each sampled key: the one write it may cause
            await _verify(size, len(size.sample))
            size.first_use_updates, size.updates = size.updates, 0
            size.recorded = await _recorded(size.ctx)
        for turn in range(rounds):
            for size in sizes[turn % len(sizes) :] + sizes[: turn % len(sizes)]:
                size.rates.append(CHUNK / await _verify(size, CHUNK))
    finally:
        for size in sizes:
            await size.ctx.database.finish()
    return sizes


def p4(bench: Bench) -> list[Result]:
    counts = (1_000, 100_000) if bench.quick else (1_000, 100_000, 1_000_000)
    databases = {n: seeded(bench, users=KEY_OWNERS, keys=n) for n in counts}
    rounds = bench.reps(21, quick=9)
    bench.progress(
        f"P4 authenticate at {', '.join(f'{n:,}' for n in counts)} keys: "
        f"{rounds} rounds of {CHUNK:,} verifications each"
    )
    sizes = {size.keys: size for size in asyncio.run(_measure(bench, databases, rounds))}
    small, mid = sizes[1_000], sizes[100_000]
    results = [
        Result(
            figure="P4",
            what="authenticate at 100k keys",
            target=f">= {RATE_TARGET:,}/s",
            measured=f"{mid.rate:,.0f}/s ({1e6 / mid.rate:.0f} µs each)",
            met=mid.rate >= RATE_TARGET,
            value=round(mid.rate),
            limit=RATE_TARGET,
            details={f"rate_{n}": round(s.rate) for n, s in sizes.items()}
            | {f"rates_{n}": [round(r) for r in s.rates] for n, s in sizes.items()},
        )
    ]
    if 1_000_000 in sizes:
        big = sizes[1_000_000]
        ratio = small.rate / big.rate
        results.append(
            Result(
                figure="P4",
                what="cost at 1M keys / at 1k keys",
                target=f"<= {SCALE_TARGET}x",
                measured=f"{ratio:.2f}x ({1e6 / big.rate:.0f} vs {1e6 / small.rate:.0f} µs)",
                met=ratio <= SCALE_TARGET,
                value=round(ratio, 3),
                limit=SCALE_TARGET,
            )
        )
    else:
        ratio = small.rate / mid.rate
        results.append(
            Result(
                figure="P4",
                what="cost at 1M keys / at 1k keys",
                target=f"<= {SCALE_TARGET}x",
                measured=f"not run (--quick); 100k/1k {ratio:.2f}x",
                met=None,
            )
        )
    timed = sum(len(s.rates) * CHUNK for s in sizes.values())
    timed_writes = sum(s.updates for s in sizes.values())
    first_writes = sum(s.first_use_updates for s in sizes.values())
    first_uses = sum(len(s.sample) for s in sizes.values())
    recorded = sum(s.recorded for s in sizes.values())
    results.append(
        Result(
            figure="P4",
            what="last_used_at writes",
            target="not one per verification",
            measured=(
                f"{first_writes:,} UPDATEs for {first_uses:,} first uses "
                f"({recorded:,} recorded); {timed_writes} in {timed:,} repeats"
            ),
            met=timed_writes == 0 and first_writes <= first_uses and recorded == first_uses,
            details={
                "first_use_updates": first_writes,
                "first_uses": first_uses,
                "last_used_recorded": recorded,
                "repeat_verifications": timed,
                "repeat_updates": timed_writes,
            },
        )
    )
    return results
