"""Faults: an unreachable, read-only or locked database, a connection cut mid-transaction, a
process killed in the middle of a multi-row change.

Each fault ends in one ``error:`` line with its documented exit code and no traceback, and
leaves no partial rows: the change happened whole or not at all.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app.core.keys import generate_key
from tests.fixtures.databases import asyncpg_dsn
from tests.hardening.processes import (
    assert_clean_failure,
    cli_env,
    finish,
    go,
    obey_file_modes,
    reaped,
    require_file_modes_obeyed,
    run,
    start,
)
from tests.hardening.rows import account_state, events, seed_account
from tests.support import Cli, Db
from tests.support import Result as Run

pytestmark = pytest.mark.slow

ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
ONLY_POSTGRESQL = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)
PASSWORD = "hunter2-Sup3rS3cret"  # a credential in a URL: must never be printed


def sqlite_file(db: Db) -> Path:
    return Path(db.url.split(":///", 1)[1])


# -- unreachable: exit 6 from every kind of task ---------------------------------------------------
# tests/cli/test_db_tasks.py covers the `db.*` tasks on a refused port and `db.check` on a missing
# database or role; these cover the data tasks, an unknown host, and SQLite folders.

DATA_TASKS = [
    ("users.create", "--email", "new@example.com", "--random-password"),
    ("users.list",),
    ("keys.create", "--account", "ci"),
    ("keys.verify",),
    ("accounts.delete", "ci", "--yes"),
    ("audit.list",),
]
UNREACHABLE = {
    "refused": f"postgresql://app:{PASSWORD}@127.0.0.1:1/app",
    "unknown-host": f"postgresql://app:{PASSWORD}@no-such-host.invalid:5432/app",
}


@pytest.mark.parametrize("argv", DATA_TASKS, ids=" ".join)
@pytest.mark.parametrize("where", list(UNREACHABLE))
def test_every_data_task_on_an_unreachable_server_is_exit_6_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, where: str, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE[where])
    stdin = generate_key("bk_") + "\n" if argv == ("keys.verify",) else None
    result = cli(*argv, stdin=stdin, expect=6)
    assert len(result.error_lines) == 1, str(result)
    expected = "connection refused" if where == "refused" else "cannot resolve the database host"
    assert result.error_lines[0].startswith(f"error: {expected}"), str(result)
    assert "app:***@" in result.error_lines[0]
    assert result.stdout == ""
    assert PASSWORD not in cli.everything_printed()


@ONLY_POSTGRESQL
@pytest.mark.parametrize("argv", [("users.list",), ("accounts.create", "ci")], ids=" ".join)
def test_a_data_task_on_a_missing_postgresql_database_is_exit_6(
    cli: Cli, db: Db, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", db.url.rsplit("/", 1)[0] + "/bt_no_such_database")
    result = cli(*argv, expect=6)
    assert result.error_lines == [
        f"error: the database does not exist ({db.url.rsplit('/', 1)[0]}/bt_no_such_database)"
    ]


def test_a_data_task_on_a_sqlite_path_in_a_missing_folder_asks_for_an_upgrade_and_creates_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SPEC: a database that is not there yet is "not at head" (7), like a new empty file."""
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/no/such/app.sqlite")
    result = cli("accounts.create", "ci", expect=7)
    assert len(result.error_lines) == 1
    assert "db.upgrade" in result.error_lines[0]
    assert not (tmp_path / "no").exists()


def test_upgrade_where_the_sqlite_folder_cannot_be_created_is_exit_6(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/a-file/db/app.sqlite")
    result = cli("db.upgrade", expect=6)
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith(
        f"error: cannot create the SQLite database {tmp_path}/a-file/db"
    )


# -- a read-only SQLite database ------------------------------------------------------------------


@pytest.fixture
def readonly(db: Db, project: Path) -> Iterator[tuple[Db, dict[str, list[tuple[Any, ...]]]]]:
    """A SQLite database with account ``ci``, its dump, and its file made read-only (0444).

    The test decides about the folder; both get their modes back at the end.
    """
    seed_account(db, "ci", keys=3)
    before = db.dump()  # before the modes change: a root connection would leave -shm behind
    path = sqlite_file(db)
    require_file_modes_obeyed(_readonly_folder(path.parent))
    path.parent.chmod(0o755)
    path.chmod(0o444)
    try:
        yield db, before
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def _readonly_folder(folder: Path) -> Path:
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    return folder


def run_obeying_file_modes(project: Path, db: Db, *argv: str) -> Run:
    return run(project, cli_env(db.url), *argv, preexec_fn=obey_file_modes)


@ONLY_SQLITE
def test_a_read_only_database_in_a_read_only_folder_refuses_writes_and_reads_in_one_line(
    project: Path, readonly: tuple[Db, dict[str, list[tuple[Any, ...]]]]
) -> None:
    """In WAL mode even a reader must create ``app.sqlite-shm`` beside the file: SQLite cannot open
    a WAL database whose folder is read-only (SQLITE_READONLY_DIRECTORY), not even for reading."""
    db, before = readonly
    _readonly_folder(sqlite_file(db).parent)

    for argv in (("accounts.create", "new"), ("accounts.delete", "ci", "--yes")):
        line = assert_clean_failure(run_obeying_file_modes(project, db, *argv), 6)
        assert "read-only" in line
        assert "folder" in line
    read = run_obeying_file_modes(project, db, "accounts.list")
    assert "read-only" in assert_clean_failure(read, 6)

    sqlite_file(db).parent.chmod(0o755)
    assert sorted(p.name for p in sqlite_file(db).parent.iterdir()) == ["app.sqlite"]
    sqlite_file(db).chmod(0o644)
    assert db.dump() == before


@ONLY_SQLITE
def test_a_read_only_database_file_refuses_writes_but_still_reads(
    project: Path, readonly: tuple[Db, dict[str, list[tuple[Any, ...]]]]
) -> None:
    """With a writable folder the reader creates the -shm/-wal files it needs and reads."""
    db, before = readonly

    for argv in (
        ("accounts.create", "new"),
        ("accounts.delete", "ci", "--yes"),
        ("keys.create", "--account", "ci"),
    ):
        line = assert_clean_failure(run_obeying_file_modes(project, db, *argv), 6)
        assert line.startswith("error: the database is read-only, nothing was written")
    listed = run_obeying_file_modes(project, db, "accounts.list", "--json")
    assert listed.code == 0, str(listed)
    assert [account["name"] for account in json.loads(listed.stdout)] == ["ci"]

    sqlite_file(db).chmod(0o644)
    for leftover in sqlite_file(db).parent.glob("app.sqlite-*"):
        leftover.chmod(0o644)  # the reader made them read-only like the database
    assert db.dump() == before


# -- a locked SQLite database ---------------------------------------------------------------------


@pytest.fixture
def seeded(db: Db) -> tuple[Db, dict[str, list[tuple[Any, ...]]]]:
    """The test's database with account ``ci`` owning three keys, and its dump."""
    seed_account(db, "ci", keys=3)
    return db, db.dump()


@pytest.fixture
def write_lock(seeded: tuple[Db, Any]) -> Iterator[sqlite3.Connection]:
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE) until the test lets go."""
    holder = sqlite3.connect(sqlite_file(seeded[0]), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


@ONLY_SQLITE
def test_a_write_locked_past_the_busy_timeout_is_exit_6_and_changes_nothing(
    project: Path, seeded: tuple[Db, dict[str, Any]], write_lock: sqlite3.Connection
) -> None:
    db, before = seeded
    env = cli_env(db.url, APP_DATABASE_BUSY_TIMEOUT_MS="300")

    for argv in (("accounts.create", "new"), ("accounts.delete", "ci", "--yes")):
        started = time.monotonic()
        line = assert_clean_failure(run(project, env, *argv), 6)
        assert time.monotonic() - started >= 0.3
        assert "locked past the busy timeout" in line
    reading = run(project, env, "accounts.list", "--json")  # WAL: readers never wait for writers
    assert reading.code == 0, str(reading)

    write_lock.execute("ROLLBACK")
    assert db.dump() == before


@ONLY_SQLITE
def test_a_write_waits_for_a_lock_released_within_the_busy_timeout(
    project: Path, seeded: tuple[Db, dict[str, Any]], write_lock: sqlite3.Connection
) -> None:
    db, _ = seeded
    env = cli_env(db.url, APP_DATABASE_BUSY_TIMEOUT_MS="20000")
    with reaped() as started:
        started.append(start(project, env, ["accounts.delete", "ci", "--yes", "--json"]))
        time.sleep(1.5)  # start-up takes ~0.5 s: by now the task is queued on the lock
        assert started[0].poll() is None, "the task did not wait for the lock"
        write_lock.execute("ROLLBACK")
        done = finish(started[0])
    assert done.code == 0, str(done)
    assert json.loads(done.stdout)["keys_deleted"] == 3
    assert db.count("service_accounts") == 0
    assert db.count("api_keys") == 0
    assert len(events(db, "account.delete")) == 1


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
