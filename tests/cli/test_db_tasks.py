"""Every `db` task through the console script, as typed: exit codes, output, --json shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alembic_project import ExtraMigrations
from tests.fixtures.db_cli import (
    HEAD,
    ONLY_SQLITE,
    OUR_TABLES,
    UNREACHABLE,
    sqlite_file,
)
from tests.support import Cli, Db

# -- db.upgrade ---------------------------------------------------------------------------------


def test_upgrade_migrates_an_empty_database_to_head_then_says_unchanged(
    cli: Cli, cli_empty_db: Db
) -> None:
    first = cli("db.upgrade", "--json").json
    assert first == {
        "status": "upgraded",
        "from": [],
        "to": [HEAD],
        "at_head": True,
        "profile": "dev",
    }
    assert cli_empty_db.tables() >= OUR_TABLES
    again = cli("db.upgrade")
    assert again.stdout == f"unchanged: already at {HEAD} (head)\n"
    assert "profile dev · database " in again.stderr


@ONLY_SQLITE
def test_upgrade_in_human_mode_names_profile_database_and_progress_on_stderr(
    cli: Cli, cli_empty_db: Db
) -> None:
    result = cli("db.upgrade")
    assert result.stdout == f"upgraded: (empty) -> {HEAD} (head)\n"
    assert result.stderr.splitlines()[0].startswith("profile dev · database ")
    assert "Running upgrade  -> 0001, initial schema" in result.stderr
    assert f" -> {HEAD}, " in result.stderr


def test_upgrade_creates_the_dev_database_where_the_profile_points(cli: Cli, project: Path) -> None:
    result = cli("db.upgrade")
    assert "profile dev · database var/dev.sqlite" in result.stderr
    assert (project / "var" / "dev.sqlite").is_file()


def test_upgrade_sql_prints_the_ddl_and_creates_nothing(cli: Cli, cli_empty_db: Db) -> None:
    result = cli("db.upgrade", "--sql")
    assert "CREATE TABLE users" in result.stdout
    assert "CREATE TABLE api_keys" in result.stdout
    if cli_empty_db.kind == "sqlite":
        assert not sqlite_file(cli_empty_db).parent.exists()
    else:
        assert cli_empty_db.tables() == set()


@ONLY_SQLITE
def test_upgrade_sql_json_is_one_object_holding_the_script(cli: Cli, cli_empty_db: Db) -> None:
    data = cli("db.upgrade", "--sql", "--json").json
    assert set(data) == {"sql"}
    assert "CREATE TABLE app_meta" in data["sql"]


def test_upgrade_sql_with_a_from_to_range_needs_no_database(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli("db.upgrade", "--sql", "--revision", f"base:{HEAD}")
    assert "CREATE TABLE users" in result.stdout
    assert "pg_advisory" not in result.stdout  # the lock belongs to online runs only


@ONLY_SQLITE
def test_upgrade_to_an_unknown_revision_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    result = cli("db.upgrade", "--revision", "nope", expect=2)
    assert len(result.error_lines) == 1
    assert "nope" in result.error_lines[0]


@ONLY_SQLITE
@pytest.mark.parametrize("revision", ["", "x; DROP TABLE users", "a" * 200])
def test_upgrade_rejects_a_malformed_revision(cli: Cli, cli_db: Db, revision: str) -> None:
    before = cli_db.dump()
    cli("db.upgrade", "--revision", revision, expect=2)
    assert cli_db.dump() == before


@ONLY_SQLITE
def test_upgrade_sql_says_so_when_sqlite_batch_operations_cannot_be_rendered(
    cli: Cli, cli_db: Db, project: Path, tmp_path: Path
) -> None:
    extra = ExtraMigrations(project, tmp_path / "extra")
    extra.add(
        "copy_users",
        """
        with op.batch_alter_table("users", recreate="always") as batch:
            batch.add_column(sa.Column("nickname", sa.String(length=50), nullable=True))
        """,
    )
    result = cli("db.upgrade", "--sql", expect=2)
    assert "cannot proceed in --sql mode" in result.error_lines[0]
    assert result.stdout == ""


@ONLY_SQLITE
def test_a_failing_migration_exits_1_in_one_line_and_leaves_the_previous_revision(
    cli: Cli, cli_db: Db, project: Path, tmp_path: Path
) -> None:
    extra = ExtraMigrations(project, tmp_path / "extra")
    extra.add(
        "boom",
        """
        op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
        raise RuntimeError("the migration failed halfway")
        """,
    )
    before = cli_db.dump()
    result = cli("db.upgrade", expect=1)
    assert result.error_lines == [
        f"error: the migration failed and was rolled back; the database is still at {HEAD} "
        "(RuntimeError: the migration failed halfway)"
    ]
    assert cli_db.dump() == before
    assert "half_done" not in cli_db.tables()


# -- db.downgrade -------------------------------------------------------------------------------


def test_downgrade_needs_a_revision(cli: Cli) -> None:
    result = cli("db.downgrade", "--yes", expect=2)
    assert result.error_lines == [
        "error: --revision is required (e.g. --revision -1, or --revision base)"
    ]


@ONLY_SQLITE
def test_downgrade_without_yes_is_refused_under_the_test_profile(cli: Cli, cli_db: Db) -> None:
    before = cli_db.dump()
    for select_test in (("--profile", "test"), ("profile", "test")):
        result = cli(*select_test, "db.downgrade", "--revision", "base", expect=5)
        assert len(result.error_lines) == 1
        assert "--yes" in result.error_lines[0]
    assert cli_db.dump() == before


@ONLY_SQLITE
def test_downgrade_is_refused_under_app_profile_test_too(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PROFILE", "test")
    cli("db.downgrade", "--revision", "base", expect=5)
    assert cli_db.tables() >= OUR_TABLES


@ONLY_SQLITE
def test_downgrade_with_yes_runs_under_the_test_profile(cli: Cli, cli_db: Db) -> None:
    data = cli("--profile", "test", "db.downgrade", "--revision", "base", "--yes", "--json").json
    assert data == {
        "status": "downgraded",
        "from": [HEAD],
        "to": [],
        "at_head": False,
        "profile": "test",
    }
    assert cli_db.tables() & OUR_TABLES == set()


@ONLY_SQLITE
def test_app_assume_yes_confirms_a_downgrade(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ASSUME_YES", "1")
    result = cli("--profile", "test", "db.downgrade", "--revision", "base")
    assert result.stdout == f"downgraded: {HEAD} -> (empty)\n"


@ONLY_SQLITE
def test_app_assume_yes_in_dotenv_confirms_nothing(cli: Cli, cli_db: Db, project: Path) -> None:
    (project / ".env").write_text("APP_ASSUME_YES=1\n", encoding="utf-8")
    cli("--profile", "test", "db.downgrade", "--revision", "base", expect=5)
    assert cli_db.tables() >= OUR_TABLES


@ONLY_SQLITE
def test_downgrade_needs_no_yes_under_dev_which_turns_confirmation_off(
    cli: Cli, cli_db: Db
) -> None:
    cli("db.downgrade", "--revision", "base")
    assert cli("db.current", "--json").json["revisions"] == []


def test_downgrade_sql_prints_drops_without_confirmation_and_changes_nothing(
    cli: Cli, cli_db: Db
) -> None:
    before = cli_db.dump()
    result = cli("--profile", "test", "db.downgrade", "--revision", "base", "--sql")
    assert "DROP TABLE users" in result.stdout
    assert cli_db.dump() == before


@ONLY_SQLITE
def test_downgrade_of_a_sqlite_file_that_does_not_exist_creates_nothing(
    cli: Cli, cli_empty_db: Db
) -> None:
    result = cli("db.downgrade", "--revision", "base", "--yes", expect=7)
    assert "db.upgrade" in result.error_lines[0]
    assert not sqlite_file(cli_empty_db).parent.exists()
