"""Bringing a server up in one chain, and down and up again."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.lifecycle import Target
from tests.support import Cli

# -- bringing a server up, and down and up again --------------------------------------------------


def test_create_upgrade_seed_admin_is_the_whole_bring_up(cli: Cli, using: Target) -> None:
    cli.monkeypatch.setenv("APP_OUTPUT", "json")
    created, upgraded, seeded = cli("db.create", "db.upgrade", "users.seed-admin").json_lines
    assert created["status"] == "created"
    assert upgraded["status"] == "upgraded"
    assert (seeded["status"], seeded["email"]) == ("created", "admin@example.com")
    assert cli("db.check").json["status"] == "ok"
    assert using.db.count("users") == 1
    # The same chain again is a no-op from end to end.
    again = cli("db.create", "db.upgrade", "users.seed-admin").json_lines
    assert [line["status"] for line in again] == ["unchanged", "unchanged", "unchanged"]


def test_drop_and_bring_up_again_in_one_chain(cli: Cli, using: Target) -> None:
    """The run keeps one Database per URL: the drop must leave it usable for the tasks after."""
    cli("db.create", "db.upgrade", "users.seed-admin")
    cli("accounts.create", "ci")
    cli.monkeypatch.setenv("APP_OUTPUT", "json")
    lines = cli(
        "users.list",
        "db.drop",
        "--yes",
        "db.create",
        "db.upgrade",
        "users.seed-admin",
        "accounts.list",
    ).json_lines
    assert [line.get("status") for line in lines[1:5]] == [
        "dropped",
        "created",
        "upgraded",
        "created",
    ]
    assert lines[-1] == []  # the account went with the old database
    assert using.db.count("users") == 1


def test_a_dry_bring_up_of_a_new_sqlite_file_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "app.sqlite"
    cli.monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{path}")
    cli.monkeypatch.setenv("APP_OUTPUT", "json")
    created, upgraded, seeded = cli(
        "--dry", "db.create", "db.upgrade", "users.seed-admin"
    ).json_lines
    assert [created["status"], upgraded["status"], seeded["status"]] == [
        "would create",
        "upgraded",
        "created",
    ]
    assert not path.parent.exists()
