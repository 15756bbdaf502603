"""P4-PG's databases: one per size of the keys table, seeded by ``COPY``.

Each bigger database starts as a copy of the one before and gets only the keys it lacks; every
one keeps a random sample of its raw keys (for ``authenticate``) and of their digests (for bare
asyncpg), the same keys on both sides.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from bench import pg
from bench.context import Bench
from bench.rows import KEY_OWNERS, bench_key

SAMPLE = 2_000


@dataclass
class Seeded:
    keys: int
    database: str
    sample: list[str]
    digests: list[str]


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
