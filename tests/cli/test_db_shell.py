"""`db.shell`: psql or sqlite3 on the database, read-only on a protected one unless --write."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.shells import (
    ENGINES,
    INSERT,
    SECRET_KEY,
    backendctl,
    protect,
    report,
    true_literal,
)
from tests.support import Cli, Db

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- db.shell -------------------------------------------------------------------------------------


def test_db_shell_runs_one_statement(cli_db: Db, project: Path) -> None:
    done = backendctl(project, cli_db.url, "db.shell", "--command", "SELECT 40 + 2")
    assert done.returncode == 0, report(done)
    assert "42" in done.stdout.split()
    assert "read-only" not in done.stderr  # nothing here is protected


def test_db_shell_exits_with_the_clients_status(cli_db: Db, project: Path) -> None:
    done = backendctl(project, cli_db.url, "db.shell", "--command", "SELECT no_such_column")
    assert done.returncode != 0, report(done)
    assert "no_such_column" in done.stderr
    assert "error: " not in done.stderr  # the client said it already, in its own words


def test_db_shell_reads_sql_on_stdin_and_stops_at_the_first_error(
    cli_db: Db, project: Path
) -> None:
    script = "SELECT 6 * 7;\nSELECT no_such_column;\nSELECT 'not reached';\n"
    done = backendctl(project, cli_db.url, "db.shell", input=script)
    assert done.returncode != 0, report(done)
    assert "42" in done.stdout.split()
    assert "not reached" not in done.stdout


def test_db_shell_is_read_only_on_a_protected_database_unless_write(
    cli: Cli, cli_db: Db, project: Path
) -> None:
    protect(cli)
    insert = INSERT.format(true=true_literal(cli_db))
    refused = backendctl(project, cli_db.url, "db.shell", "--command", insert)
    assert refused.returncode != 0, report(refused)
    assert (
        "read-only session: the database was migrated under the protected profile prod; "
        "pass --write to change it"
    ) in refused.stderr
    client_says = (
        "attempt to write a readonly database"
        if cli_db.kind == "sqlite"
        else "cannot execute INSERT in a read-only transaction"
    )
    assert client_says in refused.stderr
    assert cli_db.count("service_accounts") == 0
    # Reading is what a read-only session is for.
    read = backendctl(project, cli_db.url, "db.shell", "--command", "SELECT count(*) FROM users")
    assert read.returncode == 0, report(read)
    written = backendctl(project, cli_db.url, "db.shell", "--write", "--command", insert)
    assert written.returncode == 0, report(written)
    assert "read-write session on a protected database" in written.stderr
    assert cli_db.rows("SELECT name FROM service_accounts") == [("written",)]


def test_db_shell_is_read_only_under_a_protected_profile(cli_db: Db, project: Path) -> None:
    insert = INSERT.format(true=true_literal(cli_db))
    env = {"APP_SECRET_KEY": SECRET_KEY}
    refused = backendctl(
        project, cli_db.url, "--profile", "prod", "db.shell", "--command", insert, env=env
    )
    assert refused.returncode != 0, report(refused)
    assert "read-only session: the profile prod is protected" in refused.stderr
    assert cli_db.count("service_accounts") == 0


def test_db_shell_refuses_a_dry_run(cli: Cli, cli_db: Db) -> None:
    before = cli_db.dump()
    refused = cli("--dry", "db.shell", "--command", "DELETE FROM users", expect=2)
    assert refused.error_lines == [
        "error: this task cannot be dry-run (psql and sqlite3 cannot roll back what they are "
        "given); nothing was run"
    ]
    assert cli_db.dump() == before


def test_a_missing_client_is_one_line(
    cli: Cli, cli_db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = cli("db.shell", "--command", "SELECT 1", expect=2)
    client = "sqlite3" if cli_db.kind == "sqlite" else "psql"
    assert result.error_lines == [
        f"error: {client} is not installed (not found on PATH): install the "
        + (
            "SQLite shell (Debian: apt-get install sqlite3)"
            if client == "sqlite3"
            else "PostgreSQL client (Debian: apt-get install postgresql-client)"
        )
    ]


def test_db_shell_never_creates_a_missing_sqlite_file(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{path}")
    result = cli("db.shell", "--command", "CREATE TABLE t (a)", expect=7)
    assert f"there is no database at {path} yet" in result.error_lines[0]
    assert not path.exists()


def test_an_empty_command_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    result = cli("db.shell", "--command", " ", expect=2)
    assert result.error_lines == ["error: --command is empty: give the SQL to run"]
