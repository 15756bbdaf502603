"""BULK's two engines: a fresh copy of the seeded database for every run, and its counts.

A ``Target`` makes a fresh copy of one engine's seeded database (``fresh(rep)`` gives the URL
for the commands, the writer's target and a ``count()`` to call after the run) and keeps what
the runs measured. On SQLite the cached file is copied; on PostgreSQL the seeded database is
the template of a new one per run, dropped once counted.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from bench import pg
from bench.bulk_data import EVENTS, OWNED, seed_pg, seeded_sqlite
from bench.context import Bench
from bench.measure import Run

REVOKED = "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"
# The events the commands leave (the writer's own are not theirs).
NOT_WRITERS = "SELECT count(*) FROM audit_events WHERE actor <> 'bench:writer'"


@dataclass
class Target:
    """One engine's database: how to make a fresh copy, and how to reach it."""

    engine: str
    fresh: Any  # (rep) -> (APP_DATABASE_URL, writer target, count)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    writers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def sqlite_target(bench: Bench) -> Target:
    import sqlite3

    source = seeded_sqlite(bench)
    copy = bench.work / "bulk.sqlite"

    def fresh(_rep: int) -> tuple[str, str, Any]:
        for suffix in ("", "-wal", "-shm"):
            copy.with_name(copy.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, copy)

        def count() -> dict[str, int]:
            with sqlite3.connect(copy) as conn:
                revoked = conn.execute(REVOKED)
                events = conn.execute(NOT_WRITERS)
                return _counts(int(revoked.fetchone()[0]), int(events.fetchone()[0]))

        return f"sqlite+aiosqlite:///{copy}", str(copy), count

    return Target("sqlite", fresh)


def _counts(revoked: int, left: int) -> dict[str, int]:
    """Keys revoked and events pruned, from what is left after the runs."""
    # The revoke adds an event per key; the prune removes old ones and adds its own.
    return {"revoked": revoked, "pruned": EVENTS + OWNED - left + 1}


def pg_target(server: pg.Server) -> Target:
    started = time.perf_counter()
    source = server.copy("bulk_source")
    asyncio.run(seed_pg(server, source))
    server.bench.progress(
        f"seeded 1M keys and 1M events on PostgreSQL in {time.perf_counter() - started:.0f} s"
    )

    def fresh(rep: int) -> tuple[str, str, Any]:
        name = server.copy(f"bulk{rep}", source)

        def count() -> dict[str, int]:
            async def read() -> dict[str, int]:
                async with pg.connected(server.url, name) as conn:
                    revoked = await conn.fetchval(REVOKED)
                    events = await conn.fetchval(NOT_WRITERS)
                return _counts(int(revoked), int(events))

            found = asyncio.run(read())
            server.drop(name)
            return found

        return pg.app_url(server.url, name), pg.dsn(server.url, name), count

    return Target("postgresql", fresh)
