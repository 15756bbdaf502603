"""BULK: the bad-day commands on a big database, with another writer running meanwhile.

A database of 1,000 users, 1M API keys (100k of them owned by one user, E) and 1M audit events
spread over the last two years: ``inv keys.revoke --user E --yes`` (100k keys),
``inv audit.list --since 1d`` and ``inv audit.prune --before 365d --yes`` (half the trail), each
timed from spawn to exit. During the revoke and the prune a second process (``bench.writer``)
writes small transactions back to back, as the application does meanwhile (``last_used_at`` of
one of E's keys, an audit event); its longest wait is the figure: on SQLite a command that held
the write lock for the busy timeout (5 s) would make it fail. ``audit.list`` is compared with
``inv db.current`` run alternately: the same start-up, without the query.

On SQLite always (the seeded file is cached in var/bench/ for the day: the trail is relative to
the day it was built); on PostgreSQL when a server is configured (seeded by COPY, dropped after).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import pg
from bench.context import Bench
from bench.measure import Run, child_env, median, ms, run, side_by_side, venv_script
from bench.report import Result
from bench.seed import BATCH, fresh_copy, schema_tag, user_rows

USERS = 1_000
KEYS = 1_000_000
OWNED = 100_000  # keys 0 .. OWNED-1 belong to user 1, the one who leaves
EVENTS = 1_000_000
SPAN = timedelta(days=730)
OWNER = "user1@bench.example.com"
WAIT_LIMIT_S = 5.0  # the default busy timeout
# The events the commands leave (the writer's own are not theirs).
NOT_WRITERS = "SELECT count(*) FROM audit_events WHERE actor <> 'bench:writer'"
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


# -- seeding ---------------------------------------------------------------------------------


async def _seed_sqlite(bench: Bench, database: Path, now: datetime) -> None:
    from sqlalchemy import insert

    from backend.app.core.database import Database
    from backend.app.models import ApiKey, AuditEvent, User
    from bench.seed import key_rows, settings_for

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


async def _seed_pg(server: pg.Server, name: str) -> None:
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


# -- one engine ------------------------------------------------------------------------------


@dataclass
class Target:
    """One engine's database: how to make a fresh copy, and how to reach it."""

    engine: str
    fresh: Any  # () -> (APP_DATABASE_URL, writer target)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    writers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _with_writer(
    bench: Bench, argv: list[str], env: dict[str, str], engine: str, target: str
) -> tuple[Run, dict[str, Any]]:
    """Run ``argv`` while bench.writer writes to the same database; both results."""
    writer = subprocess.Popen(  # noqa: S603 (the bench's own writer)
        [sys.executable, "-m", "bench.writer", engine, target, str(OWNED)],
        cwd=bench.root,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # connected and writing before the command starts
        measured = run(argv, cwd=bench.root, env=env)
    finally:
        out, _ = writer.communicate("", timeout=60)
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return measured, summary


def _bulk(bench: Bench, target: Target, reps: int) -> None:
    inv = venv_script("inv")
    for rep in range(reps):
        url, writer_target, count = target.fresh(rep)
        env = child_env({"APP_DATABASE_URL": url})
        if rep == 0:
            listing = [*inv, "audit.list", "--since", "1d", "--json"]
            current = [*inv, "db.current"]
            a, b = side_by_side(
                functools.partial(run, listing, cwd=bench.root, env=env),
                functools.partial(run, current, cwd=bench.root, env=env),
                reps=bench.reps(5, quick=3),
            )
            target.runs["list"], target.runs["current"] = a, b
            target.counts["listed"] = _listed(bench, listing, env)
        for name, argv in (
            ("revoke", [*inv, "keys.revoke", "--user", OWNER, "--yes", "--json"]),
            ("prune", [*inv, "audit.prune", "--before", "365d", "--yes"]),
        ):
            measured, summary = _with_writer(bench, argv, env, target.engine, writer_target)
            target.runs.setdefault(name, []).append(measured)
            target.writers.setdefault(name, []).append(summary)
        target.counts.update(count())


def _listed(bench: Bench, argv: list[str], env: dict[str, str]) -> int:
    done = subprocess.run(  # noqa: S603
        argv, cwd=bench.root, env=env, capture_output=True, check=True, text=True
    )
    return len(json.loads(done.stdout))


def _results(target: Target) -> list[Result]:
    tag = "SQLite" if target.engine == "sqlite" else "PG"
    results = []
    revoked, pruned = target.counts.get("revoked", 0), target.counts.get("pruned", 0)
    for name, what, done in (
        ("revoke", f"keys.revoke --user E (100k keys), {tag}", revoked),
        ("prune", f"audit.prune --before 365d, {tag}", pruned),
    ):
        runs = target.runs[name]
        seconds = median([r.seconds for r in runs])
        writers = target.writers[name]
        failures = [w["failure"] for w in writers if w["failure"]]
        longest = max((w["longest_s"] or 0.0) for w in writers)
        transactions = sum(w["transactions"] for w in writers)
        measured = (
            f"{seconds:.1f} s ({done / seconds:,.0f} rows/s); other writer: "
            f"{transactions:,} txns, longest wait {ms(longest)}"
        )
        if failures:
            measured += f"; failed: {failures[0]}"
        results.append(
            Result(
                figure="BULK",
                what=what,
                target=f"other writer waits < {WAIT_LIMIT_S:.0f} s",
                measured=measured,
                met=not failures and longest < WAIT_LIMIT_S and done > 0,
                value=round(longest, 3),
                limit=WAIT_LIMIT_S,
                details={
                    "runs_s": [round(r.seconds, 3) for r in runs],
                    "rows": done,
                    "writers": writers,
                },
            )
        )
    listing = median([r.seconds for r in target.runs["list"]])
    current = median([r.seconds for r in target.runs["current"]])
    results.append(
        Result(
            figure="BULK",
            what=f"audit.list --since 1d (1M events), {tag}",
            target="(reported)",
            measured=(
                f"{ms(listing)} for {target.counts['listed']:,} events "
                f"(db.current {ms(current)}: {listing / current:.2f}x)"
            ),
            met=None,
            value=round(listing / current, 3),
            details={
                "list_runs_s": [round(r.seconds, 3) for r in target.runs["list"]],
                "current_runs_s": [round(r.seconds, 3) for r in target.runs["current"]],
            },
        )
    )
    return results


# -- the figure ------------------------------------------------------------------------------


def _sqlite_target(bench: Bench) -> Target:
    import sqlite3

    source = seeded_sqlite(bench)
    copy = bench.work / "bulk.sqlite"

    def fresh(_rep: int) -> tuple[str, str, Any]:
        for suffix in ("", "-wal", "-shm"):
            copy.with_name(copy.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, copy)

        def count() -> dict[str, int]:
            with sqlite3.connect(copy) as conn:
                return _counts(
                    conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"),
                    conn.execute(NOT_WRITERS),
                )

        return f"sqlite+aiosqlite:///{copy}", str(copy), count

    return Target("sqlite", fresh)


def _counts(revoked: Any, events: Any) -> dict[str, int]:
    left = int(events.fetchone()[0])
    # The revoke adds an event per key; the prune removes old ones and adds its own.
    return {"revoked": int(revoked.fetchone()[0]), "pruned": EVENTS + OWNED - left + 1}


def _pg_target(server: pg.Server) -> Target:
    started = time.perf_counter()
    source = server.copy("bulk_source")
    asyncio.run(_seed_pg(server, source))
    server.bench.progress(
        f"seeded 1M keys and 1M events on PostgreSQL in {time.perf_counter() - started:.0f} s"
    )

    def fresh(rep: int) -> tuple[str, str, Any]:
        name = server.copy(f"bulk{rep}", source)

        def count() -> dict[str, int]:
            async def read() -> dict[str, int]:
                async with pg.connected(server.url, name) as conn:
                    revoked = await conn.fetchval(
                        "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"
                    )
                    events = await conn.fetchval(NOT_WRITERS)
                return {"revoked": int(revoked), "pruned": EVENTS + OWNED - int(events) + 1}

            found = asyncio.run(read())
            server.drop(name)
            return found

        return pg.app_url(server.url, name), pg.dsn(server.url, name), count

    return Target("postgresql", fresh)


WHATS = [
    "keys.revoke --user E (100k keys), PG",
    "audit.prune --before 365d, PG",
    "audit.list --since 1d (1M events), PG",
]


def bulk(bench: Bench) -> list[Result]:
    reps = bench.reps(3, quick=1)
    bench.progress(f"BULK revoke, list and prune on 1M keys and 1M events: {reps} run(s) each")
    sqlite = _sqlite_target(bench)
    _bulk(bench, sqlite, reps)
    results = _results(sqlite)
    url = pg.server_url()
    if url is None:
        return results + pg.skipped("BULK", WHATS)
    with pg.server(bench, url) as server:
        target = _pg_target(server)
        _bulk(bench, target, reps)
    return results + _results(target)
