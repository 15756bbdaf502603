"""BULK's data: 1,000 users, 1M API keys (100k of them user 1's) and 1M audit events.

The events are spread evenly over the two years before the moment they are built, so the trail
is relative to that day: the SQLite file is seeded with Core executemany and cached in
var/bench/ for the day (named after this module and the seeding code, ``bench.seed.schema_tag``);
a PostgreSQL database is seeded by ``COPY``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import pg
from bench.context import Bench
from bench.rows import BATCH, key_rows, user_rows
from bench.seed import fresh_copy, schema_tag, settings_for

USERS = 1_000
KEYS = 1_000_000
OWNED = 100_000  # keys 0 .. OWNED-1 belong to user 1, the one who leaves
EVENTS = 1_000_000
SPAN = timedelta(days=730)
OWNER = "user1@bench.example.com"
ACTIONS = ("key.create", "user.update", "key.rotate", "user.create", "account.update")


def owner_of(index: int) -> int:
    return 1 if index < OWNED else index % (USERS - 1) + 2


def event_rows(now: datetime) -> Iterator[list[dict[str, Any]]]:
    """EVENTS audit events, oldest first, evenly over the SPAN before ``now``."""
    step = SPAN / EVENTS
    start = now - SPAN
    for first in range(0, EVENTS, BATCH):
        yield [
            {
                "occurred_at": start + step * (i + 1),
                "actor": "cli:bench@host",
                "action": ACTIONS[i % len(ACTIONS)],
                "target_type": "user",
                "target_id": str(i % USERS + 1),
                "target": f"user{i % USERS + 1}@bench.example.com",
                "details": {},
                "subject": f"user:user{i % USERS + 1}@bench.example.com",
            }
            for i in range(first, min(first + BATCH, EVENTS))
        ]


async def _seed_sqlite(bench: Bench, database: Path, now: datetime) -> None:
    from sqlalchemy import insert

    from backend.app.core.database import Database
    from backend.app.models import ApiKey, AuditEvent, User

    settings = settings_for(bench, database)
    db = Database(settings)
    try:
        engine = db.engine()
        async with engine.begin() as conn:
            for batch in user_rows(USERS):
                await conn.execute(insert(User), batch)
            for batch in key_rows(KEYS, owners=USERS, settings=settings, owner_of=owner_of):
                await conn.execute(insert(ApiKey), batch)
            for batch in event_rows(now):
                await conn.execute(insert(AuditEvent), batch)
    finally:
        await db.finish()


def seeded_sqlite(bench: Bench) -> Path:
    """The cached bulk database of today (its trail ends when it was built)."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    tag = hashlib.sha256(Path(__file__).read_bytes() + schema_tag(bench).encode()).hexdigest()
    path = bench.cache / f"bulk-{day}-{tag[:10]}.sqlite"
    if path.exists():
        return path
    bench.cache.mkdir(parents=True, exist_ok=True)
    for stale in bench.cache.glob("bulk-*.sqlite*"):
        stale.unlink()
    bench.progress(f"seeding {path.name}: 1M keys, 1M audit events (once a day)")
    started = time.perf_counter()
    partial = fresh_copy(bench, "bulk.partial.sqlite")
    asyncio.run(_seed_sqlite(bench, partial, datetime.now(UTC)))
    os.replace(partial, path)
    bench.progress(f"seeded in {time.perf_counter() - started:.0f} s")
    return path


EVENT_COLUMNS = (
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "details",
    "subject",
)


async def seed_pg(server: pg.Server, name: str) -> None:
    settings = pg.settings_for(server.bench, pg.app_url(server.url, name))
    async with pg.connected(server.url, name) as conn:
        await pg.copy_users(conn, USERS)
        await pg.copy_keys(conn, KEYS, owners=USERS, settings=settings, owner_of=owner_of)
        for batch in event_rows(datetime.now(UTC)):
            records = [
                tuple(json.dumps(row[c]) if c == "details" else row[c] for c in EVENT_COLUMNS)
                for row in batch
            ]
            await conn.copy_records_to_table("audit_events", records=records, columns=EVENT_COLUMNS)
        await pg.analyze(conn)
