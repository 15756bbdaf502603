"""Another writer, while a bulk command runs: how long does it ever wait for the database?

``python -m bench.writer sqlite PATH KEY_ID`` or ``python -m bench.writer postgresql DSN KEY_ID``
runs small write transactions back to back (an ``UPDATE`` of one key's ``last_used_at``, as
``authenticate`` does, and an audit event, as every task writes) until its standard input
closes, then prints one JSON object: how many it ran, the longest and the median, and any
failure. On SQLite each transaction takes the write lock at ``BEGIN IMMEDIATE`` with the default
busy timeout (5 s), so a bulk command holding the lock for longer shows up here as a failure.
Standard library (and asyncpg for PostgreSQL) only: it must not slow down what it measures.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

BUSY_TIMEOUT_MS = 5_000  # the project's default (database_busy_timeout_ms)
PAUSE_S = 0.01


def _stopper() -> threading.Event:
    stop = threading.Event()

    def wait() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait, daemon=True).start()
    return stop


def _event(now: datetime | str) -> tuple[Any, ...]:
    return (now, "bench:writer", "key.use", "key", "0", "bench", "{}", "user:writer")


def run_sqlite(path: str, key_id: int, stop: threading.Event) -> dict[str, Any]:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    waits: list[float] = []
    failure = None
    insert = (
        "INSERT INTO audit_events (occurred_at, actor, action, target_type, target_id, target, "
        "details, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    while not stop.is_set():
        # The text SQLAlchemy stores for a naive UTC datetime on SQLite.
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))
            conn.execute(insert, _event(now))
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            failure = f"{type(error).__name__}: {error}"
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            break
        waits.append(time.perf_counter() - started)
        time.sleep(PAUSE_S)
    conn.close()
    return _summary(waits, failure)


async def run_postgres(dsn: str, key_id: int, stop: threading.Event) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    waits: list[float] = []
    failure = None
    insert = (
        "INSERT INTO audit_events (occurred_at, actor, action, target_type, target_id, target, "
        "details, subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    try:
        while not stop.is_set():
            now = datetime.now(UTC)
            started = time.perf_counter()
            try:
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", now, key_id
                    )
                    await conn.execute(insert, *_event(now))
            except asyncpg.PostgresError as error:
                failure = f"{type(error).__name__}: {error}"
                break
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(PAUSE_S)
    finally:
        await conn.close()
    return _summary(waits, failure)


def _summary(waits: list[float], failure: str | None) -> dict[str, Any]:
    return {
        "transactions": len(waits),
        "longest_s": round(max(waits), 4) if waits else None,
        "median_s": round(statistics.median(waits), 4) if waits else None,
        "failure": failure,
    }


def main(argv: list[str]) -> int:
    engine, target, key_id = argv[0], argv[1], int(argv[2])
    stop = _stopper()
    if engine == "sqlite":
        summary = run_sqlite(target, key_id, stop)
    else:
        summary = asyncio.run(run_postgres(target, key_id, stop))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
