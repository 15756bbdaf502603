"""Dry runs (found from outside, item 2): every changing task, chains, APP_DRY_RUN."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    add_api_key,
    given_user,
    snapshot,
)
from tests.support import Cli, Db

ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
DRY_NOTE = "dry run: nothing was changed"


def seeded(cli: Cli, db: Db) -> None:
    given_user(db, "ann@example.com", role="admin")
    bob = given_user(db, "bob@example.com", role="admin")
    add_api_key(db, user_id=bob)
    cli("accounts.create", "ci", "--json")
    cli("keys.create", "--account", "ci", "--json")


# -- 2. a real dry run -----------------------------------------------------------------------------

CHANGING = [
    ("users.create", "--email", "new@example.com", "--password-env", PASSWORD_ENV),
    ("users.create", "--email", "gen@example.com", "--random-password"),
    ("users.set-password", "bob@example.com", "--password-env", PASSWORD_ENV),
    ("users.set-role", "bob@example.com", "member"),
    ("users.deactivate", "bob@example.com"),
    ("users.delete", "bob@example.com", "--yes"),
    ("users.seed-admin", "--email", "root@example.com"),
    ("accounts.create", "deploy"),
    ("accounts.deactivate", "ci"),
    ("accounts.delete", "ci", "--yes"),
    ("keys.create", "--account", "ci"),
    ("keys.rotate", "2", "--grace", "1h"),
    ("keys.revoke", "2"),
    ("db.reset", "--yes"),
    ("db.stamp", "0002", "--yes"),
]


@pytest.mark.parametrize("argv", CHANGING, ids=" ".join)
def test_dry_runs_print_what_they_would_do_and_change_nothing(
    cli: Cli, cli_db: Db, argv: tuple[str, ...]
) -> None:
    seeded(cli, cli_db)
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    before = snapshot(cli_db)
    human = cli("--dry", *argv)
    data = cli("--dry", *argv, "--json").json
    assert data["dry_run"] is True
    assert human.stdout.strip()
    assert DRY_NOTE in human.stderr.splitlines()
    assert snapshot(cli_db) == before
    if "--random-password" in argv:
        assert data["password"] is None
        assert "password (shown once): (not created: dry run)" in human.stdout
    if argv[0] in ("keys.create", "keys.rotate"):
        assert data["key"] is None
        assert "(not created: dry run)" in human.stdout


def test_app_dry_run_is_the_switch_for_a_whole_chain(cli: Cli, cli_db: Db) -> None:
    seeded(cli, cli_db)
    before = snapshot(cli_db)
    cli.monkeypatch.setenv("APP_DRY_RUN", "1")
    result = cli("users.delete", "bob@example.com", "--yes", "accounts.delete", "ci", "--yes")
    assert result.stdout.count("deleted") == 2
    assert snapshot(cli_db) == before
    cli.monkeypatch.setenv("APP_DRY_RUN", "maybe")
    assert cli("users.list", expect=2).error_lines == [
        "error: APP_DRY_RUN must be 1 or 0 (true/false, yes/no, on/off)"
    ]


def test_a_dry_run_chain_sees_its_own_would_be_changes_then_rolls_all_back(
    cli: Cli, cli_db: Db
) -> None:
    given_user(cli_db, "admin@example.com", role="admin")
    seeded(cli, cli_db)
    before = snapshot(cli_db)
    cli.monkeypatch.setenv("APP_OUTPUT", "json")
    result = cli("--dry", "db.reset", "--yes", "users.seed-admin", "users.list")
    reset, seed, listed = result.json_lines
    assert reset["status"] == "reset"
    # After the would-be reset the admin is gone, so the seed creates it afresh...
    assert (seed["status"], seed["email"]) == ("created", "admin@example.com")
    # ...and the list sees exactly that one user.
    assert [row["email"] for row in listed] == ["admin@example.com"]
    assert snapshot(cli_db) == before


@ONLY_SQLITE
def test_a_dry_run_upgrade_of_a_missing_database_creates_no_file(
    cli: Cli, cli_empty_db: Db
) -> None:
    path = Path(cli_empty_db.path)
    cli.monkeypatch.setenv("APP_OUTPUT", "json")
    result = cli("--dry", "db.upgrade", "users.seed-admin", "db.current")
    upgraded, seeded_admin, current = result.json_lines
    assert upgraded["status"] == "upgraded"
    assert seeded_admin["status"] == "created"
    assert current["at_head"] is True
    assert not path.exists()
    assert not path.parent.exists()


@ONLY_SQLITE
def test_a_dry_run_revision_names_the_file_and_writes_none(cli: Cli, cli_db: Db) -> None:
    from tests.alembic_project import PACKAGED

    versions = PACKAGED / "versions"
    before = sorted(p.name for p in versions.iterdir())
    shown = cli("--dry", "db.revision", "--message", "add users.timezone", "--json").json
    assert shown["status"] == "would create"
    last = max(int(name[:4]) for name in before if name[:4].isdigit())
    assert shown["path"] == str(versions / f"{last + 1:04d}_add_users_timezone.py")
    assert sorted(p.name for p in versions.iterdir()) == before
