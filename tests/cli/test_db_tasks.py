"""Every `db` task through the console script, as typed: exit codes, output, --json shapes."""

from __future__ import annotations

import inspect
import re
import time
from pathlib import Path

import pytest

from backend.app.models import Base
from tests.alembic_project import PACKAGED, ExtraMigrations, copy_of_migrations, packaged_head
from tests.support import Cli, Db

HEAD = packaged_head()
OUR_TABLES = set(Base.metadata.tables)
PASSWORD = "hunter2-Sup3rS3cret"  # a test credential that must never be printed
# Narrow conftest's `backend` fixture to SQLite: for behaviour only SQLite files have, and for
# CLI behaviour that does not depend on the engine (PostgreSQL databases cost time to create).
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
UNREACHABLE = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"


def sqlite_file(db: Db) -> Path:
    return Path(db.url.split(":///", 1)[1])


def add_user(db: Db, email: str = "someone@example.com") -> None:
    db.rows(
        "INSERT INTO users (email, password_hash, created_at, updated_at, password_changed_at) "
        "VALUES (:email, 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        email=email,
    )


def stamp_of(db: Db) -> dict[str, str]:
    return dict(db.rows("SELECT key, value FROM app_meta"))


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


# -- db.reset -------------------------------------------------------------------------------------


def test_reset_drops_every_row_and_migrates_again(cli: Cli, cli_db: Db) -> None:
    add_user(cli_db)
    data = cli("db.reset", "--yes", "--json").json
    assert data == {
        "status": "reset",
        "from": [HEAD],
        "to": [HEAD],
        "at_head": True,
        "profile": "dev",
    }
    assert cli_db.count("users") == 0
    assert stamp_of(cli_db) == {"profile": "dev", "protected": "false"}
    cli("db.check")


@ONLY_SQLITE
def test_reset_needs_no_yes_under_dev(cli: Cli, cli_db: Db) -> None:
    add_user(cli_db)
    assert cli("db.reset").stdout == f"reset: {HEAD} -> {HEAD} (head)\n"
    assert cli_db.count("users") == 0


@ONLY_SQLITE
def test_reset_without_yes_is_refused_under_the_test_profile(cli: Cli, cli_db: Db) -> None:
    add_user(cli_db)
    before = cli_db.dump()
    cli("--profile", "test", "db.reset", expect=5)
    assert cli_db.dump() == before


@ONLY_SQLITE
def test_reset_of_a_database_with_no_schema_creates_it(cli: Cli, cli_empty_db: Db) -> None:
    cli("db.reset", "--yes")
    cli("db.check")


@pytest.fixture
def prod_db(cli: Cli, cli_empty_db: Db) -> Db:
    """A database first migrated under the protected prod profile, with a row in it."""
    cli("--profile", "prod", "db.upgrade")
    add_user(cli_empty_db)
    assert stamp_of(cli_empty_db) == {"profile": "prod", "protected": "true"}
    return cli_empty_db


REFUSED_ON_PROD = [
    ("db.reset", "--yes"),
    ("--profile", "prod", "db.reset", "--yes"),
    ("--profile", "test", "db.reset", "--yes"),
    ("db.downgrade", "--revision", "base", "--yes"),
    ("profile", "prod", "db.downgrade", "--revision", "base", "--yes"),
]


def test_a_prod_stamped_database_refuses_reset_and_downgrade_and_loses_nothing(
    cli: Cli, prod_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = prod_db.dump()
    for argv in REFUSED_ON_PROD:
        result = cli(*argv, expect=5)
        assert len(result.error_lines) == 1, str(result)
        assert "protected profile 'prod'" in result.error_lines[0]
        assert "APP_ALLOW_DESTRUCTIVE=1" in result.error_lines[0]
    monkeypatch.setenv("APP_ASSUME_YES", "1")
    cli("db.reset", expect=5)
    assert prod_db.dump() == before


@ONLY_SQLITE
def test_a_prod_stamped_database_resets_with_allow_destructive_and_yes(
    cli: Cli, prod_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ALLOW_DESTRUCTIVE", "1")
    cli("--profile", "test", "db.reset", expect=5)  # the override does not replace --yes
    assert prod_db.count("users") == 1
    cli("--profile", "test", "db.reset", "--yes")
    assert prod_db.count("users") == 0
    assert stamp_of(prod_db) == {"profile": "test", "protected": "false"}


@ONLY_SQLITE
def test_allow_destructive_in_dotenv_does_not_unlock_a_prod_database(
    cli: Cli, prod_db: Db, project: Path
) -> None:
    (project / ".env").write_text("APP_ALLOW_DESTRUCTIVE=1\n", encoding="utf-8")
    before = prod_db.dump()
    cli("db.reset", "--yes", expect=5)
    assert prod_db.dump() == before


@ONLY_SQLITE
def test_upgrading_a_prod_database_under_dev_keeps_the_prod_stamp(cli: Cli, prod_db: Db) -> None:
    cli("db.upgrade")
    cli("db.stamp", "head")
    assert stamp_of(prod_db) == {"profile": "prod", "protected": "true"}


# -- db.revision and db.stamp ---------------------------------------------------------------------


def test_revision_needs_a_message(cli: Cli) -> None:
    result = cli("db.revision", expect=2)
    assert result.error_lines == ["error: --message is required"]


def test_revision_writes_a_numbered_migration_into_the_projects_migrations(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    packaged = sorted(p.name for p in (PACKAGED / "versions").iterdir())
    versions = copy_of_migrations(project, tmp_path / "migrations")
    data = cli("db.revision", "--message", "add nicknames", "--json").json
    assert data["status"] == "created"
    written = Path(data["path"])
    assert written.parent == versions
    assert written.name == f"{data['id']}_add_nicknames.py"
    assert f"down_revision: str | Sequence[str] | None = {HEAD!r}" in written.read_text()
    assert cli("db.history", "--json").json[0]["id"] == data["id"]
    assert sorted(p.name for p in (PACKAGED / "versions").iterdir()) == packaged


@ONLY_SQLITE
def test_revision_autogenerate_writes_nothing_when_the_models_match(
    cli: Cli, cli_db: Db, project: Path, tmp_path: Path
) -> None:
    versions = copy_of_migrations(project, tmp_path / "migrations")
    before = sorted(versions.iterdir())
    data = cli("db.revision", "--message", "nothing", "--autogenerate", "--json").json
    assert data == {"status": "unchanged", "id": None, "path": None}
    assert sorted(versions.iterdir()) == before


def test_revision_autogenerate_writes_the_difference(
    cli: Cli, cli_db: Db, project: Path, tmp_path: Path
) -> None:
    copy_of_migrations(project, tmp_path / "migrations")
    cli_db.rows("ALTER TABLE users ADD COLUMN nickname VARCHAR(50)")
    data = cli("db.revision", "--message", "drop nickname", "--autogenerate", "--json").json
    assert data["status"] == "created"
    written = Path(data["path"]).read_text()
    assert re.search(r"drop_column\((?:'users', )?'nickname'\)", written), written


def test_stamp_records_a_revision_without_migrating(cli: Cli, cli_db: Db) -> None:
    data = cli("db.stamp", "base", "--json").json
    assert (data["status"], data["from"], data["to"]) == ("stamped", [HEAD], [])
    assert cli_db.tables() >= OUR_TABLES  # nothing was dropped
    assert cli("db.stamp", "head").stdout == f"stamped: (empty) -> {HEAD} (head)\n"


@ONLY_SQLITE
def test_stamp_of_an_unknown_revision_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    before = cli_db.dump()
    result = cli("db.stamp", "deadbeef", expect=2)
    assert result.error_lines == ["error: Can't locate revision identified by 'deadbeef'"]
    assert cli_db.dump() == before


def test_stamp_needs_its_revision(cli: Cli) -> None:
    result = cli("db.stamp", expect=2)
    assert result.error_lines == ["error: db.stamp needs REVISION (see db.stamp --help)"]


# -- wrong URLs and invoke's own errors ----------------------------------------------------------


TOUCHING_THE_DATABASE = [
    ("db.upgrade",),
    ("db.upgrade", "--sql"),
    ("db.downgrade", "--revision", "base", "--yes"),
    ("db.current",),
    ("db.check",),
    ("db.reset", "--yes"),
    ("db.stamp", "head"),
    ("db.revision", "--message", "x", "--autogenerate"),
]


@pytest.mark.parametrize("argv", TOUCHING_THE_DATABASE, ids=" ".join)
def test_an_unreachable_database_is_exit_6_and_one_line_with_the_password_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    result = cli(*argv, expect=6)
    assert len(result.error_lines) == 1
    assert "postgres:***@127.0.0.1:1/x" in result.error_lines[0]
    assert result.stdout == ""
    assert PASSWORD not in cli.everything_printed()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/bt_no_such_db", id="db"),
        pytest.param(f"postgresql://bt_no_such_role:{PASSWORD}@127.0.0.1:5432/x", id="role"),
    ],
)
@pytest.mark.postgres
def test_a_missing_database_or_role_on_a_live_server_is_exit_6(
    cli: Cli, pg_server: str, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    host = pg_server.split("@", 1)[1].split("/", 1)[0]
    monkeypatch.setenv("APP_DATABASE_URL", url.replace("127.0.0.1:5432", host))
    result = cli("db.check", expect=6)
    assert len(result.error_lines) == 1
    assert PASSWORD not in cli.everything_printed()


def test_a_password_in_the_query_string_is_masked_too(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://app@127.0.0.1:1/x?password={PASSWORD}")
    cli("db.current", expect=6)
    assert PASSWORD not in cli.everything_printed()


def test_an_unknown_task_is_invalid_input_naming_the_closest_task(cli: Cli) -> None:
    result = cli("users.lst", expect=2)
    assert result.error_lines == [
        "error: unknown task 'users.lst' (did you mean users.list?) (see --list)"
    ]
    assert cli("db.nope", expect=2).error_lines == ["error: unknown task 'db.nope' (see --list)"]


def test_an_unknown_flag_is_invalid_input_naming_the_closest_flag(cli: Cli) -> None:
    result = cli("users.create", "--emial", "a@example.com", expect=2)
    assert result.error_lines == [
        "error: unknown flag '--emial' for users.create (did you mean --email?) "
        "(see --help users.create)"
    ]


DB_TASKS = ("upgrade", "downgrade", "current", "history", "check", "reset", "revision", "stamp")


def test_every_db_task_has_a_one_line_summary_and_help_for_every_flag(cli: Cli) -> None:
    import runpy

    from invoke.tasks import Task

    from backend.app.cli import db as db_module

    # Fresh Task objects: invoke pops each flag's help once a parser has been built from it.
    fresh = runpy.run_path(db_module.__file__, run_name="fresh_db_tasks")
    listing = cli("--list").stdout
    for name in DB_TASKS:
        task = fresh[name]
        assert isinstance(task, Task)
        summary = (task.__doc__ or "").strip().splitlines()
        assert len(summary) == 1, f"db.{name} needs a one-line docstring"
        assert f"db.{name}" in listing
        flags = [p for p in inspect.signature(task.body).parameters if p != "c"]
        assert sorted(task.help) == sorted(flags)
        assert all(task.help.values()), f"db.{name} has a flag with empty help"
        helped = cli("--help", f"db.{name}").stdout
        assert all(f"--{flag}" in helped for flag in flags)


def test_db_revision_refuses_to_write_into_an_installed_package(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    """From a wheel the migrations live in site-packages: a file written there would be lost."""
    installed = tmp_path / "lib" / "site-packages" / "backend_migrations"
    versions = copy_of_migrations(project, installed)
    before = sorted(p.name for p in versions.iterdir())
    result = cli("db.revision", "--message", "add a column", expect=2)
    assert "installed package" in result.error_lines[0]
    assert sorted(p.name for p in versions.iterdir()) == before


def test_an_empty_app_variable_leaves_the_lower_layers_in_force(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", "")
    result = cli("config.show", "--json")
    assert result.json["settings"]["database_url"].endswith("/var/dev.sqlite")
