"""P6: how the benchmark seeds its databases, timed: Core executemany against ORM adds.

10,000 users and 10,000 keys go into a fresh migrated SQLite file through ``bench.inserts``;
the figure is met when the driver saw one executemany per batch and not a single one-row
``INSERT``. The same users added one ORM object at a time are timed for contrast.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench.context import Bench
from bench.inserts import Inserts, add_users_orm, insert_keys, insert_users
from bench.measure import median
from bench.report import Result
from bench.rows import BATCH, password_hash
from bench.seed import fresh_copy, settings_for

P6_ROWS = 10_000


@dataclass(frozen=True)
class SeedTimes:
    users_s: float
    keys_s: float
    orm_users_s: float
    users: Inserts
    keys: Inserts
    orm: Inserts


async def _time_core(bench: Bench, database: Path) -> tuple[float, float, Inserts, Inserts]:
    from backend.app.core.database import Database

    settings = settings_for(bench, database)
    db = Database(settings)
    engine = db.engine()
    try:
        start = time.perf_counter()
        users = await insert_users(engine, P6_ROWS)
        middle = time.perf_counter()
        keys = await insert_keys(engine, P6_ROWS, owners=P6_ROWS, settings=settings)
        end = time.perf_counter()
    finally:
        await db.finish()
    return middle - start, end - middle, users, keys


async def _time_orm(bench: Bench, database: Path) -> tuple[float, Inserts]:
    from backend.app.core.database import Database

    db = Database(settings_for(bench, database))
    try:
        start = time.perf_counter()
        seen = await add_users_orm(db.engine(), P6_ROWS)
        return time.perf_counter() - start, seen
    finally:
        await db.finish()


def p6(bench: Bench) -> list[Result]:
    password_hash()  # the one real hash, outside the timings
    reps = bench.reps(5)
    bench.progress(f"P6 seeding {P6_ROWS:,} users and keys: {reps} runs (ORM contrast: fewer)")
    times: list[SeedTimes] = []
    orm_runs = max(1, min(reps, 3))
    for rep in range(reps):
        core = asyncio.run(_time_core(bench, fresh_copy(bench, "p6-core.sqlite")))
        orm: tuple[float, Inserts] = (float("nan"), Inserts())
        if rep < orm_runs:
            orm = asyncio.run(_time_orm(bench, fresh_copy(bench, "p6-orm.sqlite")))
        times.append(SeedTimes(core[0], core[1], orm[0], core[2], core[3], orm[1]))
    users_s = median([t.users_s for t in times])
    keys_s = median([t.keys_s for t in times])
    orm_s = median([t.orm_users_s for t in times[:orm_runs]])
    last = times[-1]
    batches = -(-P6_ROWS // BATCH)
    bulk = (
        last.users.executemany_calls == batches
        and last.keys.executemany_calls == batches
        and last.users.single_inserts == 0
        and last.keys.single_inserts == 0
    )
    bulk_result = Result(
        figure="P6",
        what=f"seed {P6_ROWS // 1000}k users + {P6_ROWS // 1000}k keys",
        target="Core insert() executemany",
        measured=(
            f"users {users_s:.2f} s, keys {keys_s:.2f} s; "
            f"{last.users.executemany_calls}+{last.keys.executemany_calls} executemany, "
            f"{last.users.single_inserts + last.keys.single_inserts} single INSERTs"
        ),
        met=bulk,
        details={
            "users_runs_s": [round(t.users_s, 4) for t in times],
            "keys_runs_s": [round(t.keys_s, 4) for t in times],
            "users_inserts": vars(last.users),
            "keys_inserts": vars(last.keys),
            "batch_rows": BATCH,
        },
    )
    contrast = Result(
        figure="P6",
        what=f"(contrast) {P6_ROWS // 1000}k users by ORM add_all",
        target="(not used)",
        measured=f"{orm_s:.2f} s = {orm_s / users_s:.1f}x Core "
        f"({times[0].orm.executemany_calls} executemany, "
        f"{times[0].orm.single_inserts} single INSERTs)",
        met=None,
        value=round(orm_s / users_s, 2),
        details={
            "orm_runs_s": [round(t.orm_users_s, 4) for t in times[:orm_runs]],
            "orm_inserts": vars(times[0].orm),
        },
    )
    return [bulk_result, contrast]
