"""`db.reset`, `db.revision` and `db.stamp`, through the console script, as typed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.alembic_project import PACKAGED, copy_of_migrations
from tests.fixtures.db_cli import (
    HEAD,
    ONLY_SQLITE,
    OUR_TABLES,
    add_user,
    stamp_of,
)
from tests.support import Cli, Db

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
    assert f'down_revision: str | Sequence[str] | None = "{HEAD}"' in written.read_text()
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
