"""`db.current`, `db.history` and `db.check`, through the console script, as typed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.alembic_project import ExtraMigrations
from tests.fixtures.db_cli import (
    HEAD,
    ONLY_SQLITE,
    PASSWORD,
    UNREACHABLE,
    sqlite_file,
)
from tests.support import Cli, Db

# -- db.current and db.history --------------------------------------------------------------------


def test_current_reports_the_revision_and_the_profile_stamp(cli: Cli, cli_db: Db) -> None:
    assert cli("db.current", "--json").json == {
        "revisions": [HEAD],
        "heads": [HEAD],
        "at_head": True,
        "exists": True,
        "stamp": {"profile": "dev", "protected": False},
    }
    assert cli("db.current").stdout == f"{HEAD} (head)\nmigrated under profile dev\n"


@ONLY_SQLITE
def test_current_reports_a_missing_sqlite_file_without_creating_it(
    cli: Cli, cli_empty_db: Db
) -> None:
    data = cli("db.current", "--json").json
    assert (data["exists"], data["revisions"], data["at_head"], data["stamp"]) == (
        False,
        [],
        False,
        None,
    )
    assert cli("db.current").stdout == "(none): the database does not exist yet\n"
    assert not sqlite_file(cli_empty_db).parent.exists()


def test_current_reports_an_empty_database(cli: Cli, cli_empty_db: Db) -> None:
    if cli_empty_db.kind == "sqlite":
        sqlite_file(cli_empty_db).parent.mkdir()
        sqlite_file(cli_empty_db).touch()
    assert cli("db.current").stdout == "(none): the database is empty\n"
    assert cli("db.current", "--json").json["exists"] is True


def test_history_lists_the_migrations_newest_first_without_a_database(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    rows = cli("db.history", "--json").json
    assert rows[0] == {
        "id": HEAD,
        "down_revision": rows[0]["down_revision"],
        "head": True,
        "message": rows[0]["message"],
    }
    assert rows[-1]["id"] == "0001"
    assert rows[-1]["down_revision"] is None
    assert sum(row["head"] for row in rows) == 1
    human = cli("db.history").stdout.splitlines()
    assert human[0].split() == ["ID", "DOWN", "HEAD", "MESSAGE"]
    assert "0001" in human[-1]
    assert "initial schema" in human[-1]


# -- db.check -------------------------------------------------------------------------------------


def test_check_passes_on_a_database_at_head(cli: Cli, cli_db: Db) -> None:
    assert cli("db.check", "--json").json == {"status": "ok", "revision": HEAD, "profile": "dev"}
    assert cli("db.check").stdout.startswith(f"ok: the database is at head ({HEAD})")


def test_check_exits_7_on_an_empty_database(cli: Cli, cli_empty_db: Db) -> None:
    result = cli("db.check", expect=7)
    assert len(result.error_lines) == 1
    assert "db.upgrade" in result.error_lines[0]
    assert result.stdout == ""
    if cli_empty_db.kind == "sqlite":
        assert not sqlite_file(cli_empty_db).parent.exists()


@ONLY_SQLITE
def test_check_exits_7_on_a_new_empty_sqlite_file(cli: Cli, cli_empty_db: Db) -> None:
    sqlite_file(cli_empty_db).parent.mkdir()
    sqlite_file(cli_empty_db).touch()
    cli("db.check", expect=7)


@ONLY_SQLITE
def test_check_exits_7_on_a_database_behind_head(
    cli: Cli, cli_db: Db, project: Path, tmp_path: Path
) -> None:
    extra = ExtraMigrations(project, tmp_path / "extra")
    newer = extra.add("newer", "pass")
    result = cli("db.check", expect=7)
    assert f"the migrations end at {newer}" in result.error_lines[0]
    cli("db.upgrade")
    cli("db.check")


@pytest.fixture
def two_heads(project: Path, tmp_path: Path) -> tuple[str, str]:
    """Two test-only migrations that both branch off the packaged head."""
    extra = ExtraMigrations(project, tmp_path / "extra")
    first = extra.add("branch_a", "pass")
    extra.chain.pop()
    return first, extra.add("branch_b", "pass")


@ONLY_SQLITE
def test_several_heads_make_check_and_upgrade_exit_7_asking_for_a_merge(
    cli: Cli, cli_db: Db, two_heads: tuple[str, str]
) -> None:
    for task in ("db.check", "db.upgrade"):
        result = cli(task, expect=7)
        assert result.error_lines[0].startswith(
            f"error: the migrations have several heads ({', '.join(two_heads)})"
        )
    assert cli("db.current", "--json").json["revisions"] == [HEAD]


@ONLY_SQLITE
def test_current_at_every_one_of_several_heads_does_not_claim_to_be_behind(
    cli: Cli, cli_db: Db, two_heads: tuple[str, str]
) -> None:
    cli("db.upgrade", "--revision", "heads")
    assert cli("db.current").stdout.startswith(
        f"{', '.join(two_heads)} (every head, but the migrations have several: merge them)"
    )
    cli("db.check", expect=7)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("ALTER TABLE users ADD COLUMN nickname VARCHAR(50)", "remove_column users.nickname"),
        ("DROP INDEX ix_audit_events_action", "add_index audit_events.ix_audit_events_action"),
    ],
    ids=["extra-column", "missing-index"],
)
def test_check_exits_7_when_the_schema_drifted_from_the_models(
    cli: Cli, cli_db: Db, sql: str, named: str
) -> None:
    cli_db.rows(sql)
    result = cli("db.check", expect=7)
    assert len(result.error_lines) == 1
    assert "drift" in result.error_lines[0]
    assert named in result.error_lines[0]


def test_check_exits_6_on_an_unreachable_server_with_the_password_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli("db.check", expect=6)
    assert result.error_lines == [
        "error: connection refused by the database server "
        "(postgresql+asyncpg://postgres:***@127.0.0.1:1/x)"
    ]
    assert PASSWORD not in cli.everything_printed()


@pytest.mark.slow
def test_check_wait_retries_for_the_given_seconds_then_exits_6(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    started = time.monotonic()
    cli("db.check", "--wait", "1", expect=6)
    assert 0.9 <= time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["abc", "-1", "nan", "1e9", ""])
def test_check_with_a_malformed_wait_is_invalid_input(cli: Cli, wait: str) -> None:
    result = cli("db.check", "--wait", wait, expect=2)
    assert result.error_lines[0].startswith("error: --wait must be")


def test_check_on_a_sqlite_path_in_a_missing_folder_is_not_at_head_and_creates_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`db.upgrade` would create the folder and the file: the database is just not there yet."""
    folder = tmp_path / "no" / "such" / "folder"
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{folder}/app.sqlite")
    result = cli("db.check", expect=7)
    assert "db.upgrade" in result.error_lines[0]
    assert not (tmp_path / "no").exists()
