"""Faults mid-transaction: a PostgreSQL connection cut or process killed; SQLite killed."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.databases import asyncpg_dsn
from tests.hardening.processes import (
    assert_clean_failure,
    cli_env,
    finish,
    go,
    reaped,
    start,
)
from tests.hardening.rows import account_state, events, seed_account
from tests.support import Db

pytestmark = pytest.mark.slow

ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
ONLY_POSTGRESQL = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)
PASSWORD = "hunter2-Sup3rS3cret"  # a credential in a URL: must never be printed


def sqlite_file(db: Db) -> Path:
    return Path(db.url.split(":///", 1)[1])


# -- PostgreSQL: the connection cut, or the process killed, in the middle of a delete -------------


class PgSession:
    """A session of the test's own (like psql), on its own event loop, held across sync code."""

    def __init__(self, url: str) -> None:
        import asyncpg

        self._runner = asyncio.Runner()
        self._conn = self._runner.run(asyncpg.connect(asyncpg_dsn(url), timeout=10))

    def execute(self, sql: str, *args: Any) -> None:
        self._runner.run(self._conn.execute(sql, *args))

    def fetch(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = self._runner.run(self._conn.fetch(sql, *args))
        return rows

    def close(self) -> None:
        try:
            self._runner.run(self._conn.close(timeout=10))
        finally:
            self._runner.close()


@pytest.fixture
def pg_sessions(db: Db) -> Iterator[tuple[PgSession, PgSession]]:
    """Two sessions: one to hold locks in a transaction, one to watch and act (autocommit)."""
    locker, watcher = PgSession(db.url), PgSession(db.url)
    try:
        yield locker, watcher
    finally:
        locker.close()
        watcher.close()


BLOCKED_TASK = """
SELECT pid, query FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'backend' AND wait_event_type = 'Lock'
"""


def wait_until(condition: Any, what: str, *, timeout: float = 30.0, every: float = 0.002) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting until {what}")


@ONLY_POSTGRESQL
@pytest.mark.parametrize("fault", ["backend terminated", "process killed"])
def test_a_delete_cut_off_mid_transaction_on_postgresql_leaves_every_row(
    project: Path, db: Db, pg_sessions: tuple[PgSession, PgSession], fault: str
) -> None:
    account_id, keys = seed_account(db, "ci", keys=5)
    before = db.dump()
    locker, watcher = pg_sessions
    # The task deletes the keys, then blocks on its audit insert: mid-transaction, rows gone.
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE audit_events IN EXCLUSIVE MODE")

    with reaped() as started:
        process = start(project, cli_env(db.url), ["accounts.delete", "ci", "--yes"])
        started.append(process)

        def blocked() -> Any:
            assert process.poll() is None, str(finish(process))
            return watcher.fetch(BLOCKED_TASK)

        ((pid, query),) = wait_until(
            blocked, "the task blocks on the locked audit table", every=0.05
        )
        assert query.startswith("INSERT INTO audit_events"), query
        if fault == "backend terminated":
            watcher.fetch("SELECT pg_terminate_backend($1)", pid)
        else:
            process.kill()
        done = finish(process)
        locker.execute("ROLLBACK")
        wait_until(
            lambda: not watcher.fetch("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid),
            "the task's server process has gone",
            every=0.05,
        )

    if fault == "backend terminated":
        line = assert_clean_failure(done, 6)
        assert line.startswith("error: lost or could not open the database connection"), line
    else:
        assert done.code == -9, str(done)
    assert account_state(db, account_id) == (1, len(keys))
    assert events(db, "account.delete") == []
    assert db.dump() == before


# -- SQLite: the process killed at random moments of a big delete ---------------------------------

BULK_KEYS = 20_000
KILLS = 6


def writing(wal: Path) -> bool:
    """Whether a WAL holds frames: a writer has started putting pages there (the header is 32 B)."""
    return wal.exists() and wal.stat().st_size > 32


def integrity(path: Path) -> tuple[list[Any], list[Any]]:
    """(PRAGMA integrity_check, PRAGMA foreign_key_check) on the file, as a fresh reader."""
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("PRAGMA integrity_check").fetchall(),
            conn.execute("PRAGMA foreign_key_check").fetchall(),
        )
    finally:
        conn.close()


@ONLY_SQLITE
def test_a_process_killed_at_random_moments_of_a_big_delete_never_leaves_part_of_it(
    project: Path, db: Db
) -> None:
    """The first run goes to the end and times the window; then SIGKILL lands anywhere in it."""
    rng = random.Random(6)
    env = cli_env(db.url)
    path = sqlite_file(db)
    wal = path.with_name(path.name + "-wal")
    other_id, other_keys = seed_account(db, "other", keys=10)
    account_id: int | None = None
    window: float | None = None
    outcomes: list[str] = []
    while len(outcomes) < KILLS:
        if account_id is None:
            account_id, _ = seed_account(db, "bulk", keys=BULK_KEYS)
        with reaped() as started:
            process = start(project, env, ["accounts.delete", "bulk", "--yes"], barrier=True)
            started.append(process)
            go(started)
            begun = time.monotonic()
            if window is not None:
                if len(outcomes) % 2:  # at a random moment of the whole run
                    time.sleep(rng.uniform(0, window))
                else:  # at a random moment after the delete began writing pages to the WAL
                    wait_until(lambda p=process: writing(wal) or p.poll() is not None, "a write")
                    time.sleep(rng.uniform(0, 0.05))
                process.kill()
            done = finish(process)
        wrote = writing(wal)  # read before a reader recovers (and empties) the WAL
        state = account_state(db, account_id)
        assert state in ((1, BULK_KEYS), (0, 0)), f"partial delete: {state}"
        assert integrity(path) == ([("ok",)], [])
        if window is None:
            assert done.code == 0, str(done)
            window = time.monotonic() - begun
        else:
            outcomes.append(
                "deleted" if state == (0, 0) else ("rolled back" if wrote else "not begun")
            )
        if state == (0, 0):
            account_id = None
    # One event per delete that committed (the timing run included), none for a killed one.
    assert len(events(db, "account.delete")) == 1 + outcomes.count("deleted")
    assert account_state(db, other_id) == (1, len(other_keys))
    assert "rolled back" in outcomes, f"no kill landed mid-transaction: {outcomes}"


# -- regression: foreign keys need an index ------------------------------------------------------


def test_every_foreign_key_of_the_migrated_schema_is_indexed(db: Db) -> None:
    """Deleting a parent row looks up its children through the foreign key: without an index
    that is a full scan per deleted row. The self-reference ``api_keys.rotated_from_id`` had none,
    so deleting an account with 20,000 keys took minutes on SQLite (O(n^2)) and seconds on
    PostgreSQL."""
    assert asyncio.run(_unindexed_foreign_keys(db.url)) == []


async def _unindexed_foreign_keys(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_unindexed)
    finally:
        await engine.dispose()


def _unindexed(sync_conn: Any) -> list[str]:
    inspector = inspect(sync_conn)
    missing = []
    for table in inspector.get_table_names():
        leading = {tuple(ix["column_names"][:1]) for ix in inspector.get_indexes(table)}
        leading |= {tuple(uq["column_names"][:1]) for uq in inspector.get_unique_constraints(table)}
        leading.add(tuple(inspector.get_pk_constraint(table)["constrained_columns"][:1]))
        for fk in inspector.get_foreign_keys(table):
            if tuple(fk["constrained_columns"][:1]) not in leading:
                missing.append(f"{table}.{','.join(fk['constrained_columns'])}")
    return sorted(missing)
