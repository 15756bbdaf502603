"""Faults: an unreachable, read-only or locked database, a connection cut mid-transaction, a
process killed in the middle of a multi-row change.

Each fault ends in one ``error:`` line with its documented exit code and no traceback, and
leaves no partial rows: the change happened whole or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.app.core.keys import generate_key
from tests.hardening.processes import (
    assert_clean_failure,
    cli_env,
    finish,
    obey_file_modes,
    reaped,
    require_file_modes_obeyed,
    run,
    start,
)
from tests.hardening.rows import events, seed_account
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
