"""`users.seed-admin`: the idempotent bring-up of the first admin, as typed."""

from __future__ import annotations

import json

from tests.fixtures.users import (
    PASSWORD,
    audit_events,
    emails,
    fails_without_change,
    given_user,
    reused_db,
    unchanged,
    use_test_profile,
    user_row,
    verifies,
)
from tests.support import Cli, Db

db = reused_db


# -- users.seed-admin ------------------------------------------------------------------------------


def test_seed_admin_creates_the_profiles_admin_with_a_password_shown_once(
    cli: Cli, cli_db: Db
) -> None:
    result = cli("users.seed-admin")

    assert "created admin admin@example.com" in result.stdout
    password = result.stdout.split("password (shown once): ", 1)[1].strip()
    assert result.stdout.count(password) == 1
    row = user_row(cli_db, "admin@example.com")
    assert (row["role"], row["is_active"]) == ("admin", True)
    assert verifies(password, row["password_hash"])
    [event] = audit_events(cli_db)
    assert event["action"] == "user.create"
    assert event["details"]["via"] == "users.seed-admin"


def test_seed_admin_in_json_mode_returns_the_generated_password_as_a_field(
    cli: Cli, cli_db: Db
) -> None:
    data = cli("users.seed-admin", "--json").json

    assert (data["status"], data["email"], data["role"]) == (
        "created",
        "admin@example.com",
        "admin",
    )
    assert verifies(data["password"], user_row(cli_db, "admin@example.com")["password_hash"])


def test_seed_admin_a_second_time_is_unchanged(cli: Cli, cli_db: Db) -> None:
    cli("users.seed-admin")

    result = unchanged(cli, cli_db, "users.seed-admin")

    assert "password" not in result.stdout
    assert result.stderr.count("warning") == 0
    assert cli("users.seed-admin", "--json").json["status"] == "unchanged"


def test_seed_admin_uses_the_admin_email_and_password_from_the_environment(
    cli: Cli, cli_db: Db
) -> None:
    cli.monkeypatch.setenv("APP_ADMIN_EMAIL", "Root@Example.org")
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", "configured-admin-password")

    result = cli("users.seed-admin", "--json")

    assert result.json["email"] == "root@example.org"
    assert "password" not in result.json
    assert emails(cli_db) == ["root@example.org"]
    assert verifies(
        "configured-admin-password", user_row(cli_db, "root@example.org")["password_hash"]
    )
    assert audit_events(cli_db)[0]["details"]["password_source"] == "APP_ADMIN_PASSWORD"


def test_seed_admin_takes_the_email_and_password_source_from_flags(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", "configured-admin-password")

    cli(
        "users.seed-admin", "--email", "boss@example.com", "--password-stdin", stdin=PASSWORD + "\n"
    )

    assert emails(cli_db) == ["boss@example.com"]
    assert verifies(PASSWORD, user_row(cli_db, "boss@example.com")["password_hash"])


def test_seed_admin_warns_about_an_existing_non_admin_and_changes_nothing(
    cli: Cli, cli_db: Db
) -> None:
    given_user(cli_db, "admin@example.com")
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", "a-changed-admin-password")

    result = unchanged(cli, cli_db, "users.seed-admin")

    assert "warning: admin@example.com exists but is not an admin" in result.stderr
    assert verifies(PASSWORD, user_row(cli_db, "admin@example.com")["password_hash"])


def test_seed_admin_warns_about_an_inactive_admin(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "admin@example.com", active=False, role="admin")

    result = unchanged(cli, cli_db, "users.seed-admin", "--json")

    assert "warning: admin@example.com exists but is inactive" in result.stderr
    assert result.json["status"] == "unchanged"


def test_seed_admin_with_a_too_short_configured_password_changes_nothing(
    cli: Cli, cli_db: Db
) -> None:
    cli.monkeypatch.setenv("APP_ADMIN_PASSWORD", "short")

    fails_without_change(cli, cli_db, "users.seed-admin", expect=2)


def test_seed_admin_without_an_admin_email_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    use_test_profile(cli)  # the test profile names no admin_email

    result = fails_without_change(cli, cli_db, "users.seed-admin", expect=2)
    assert "APP_ADMIN_EMAIL" in result.stderr


def test_reset_then_seed_admin_twice_in_one_run_leaves_one_admin(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    # The second pair differs by --json, so invoke's dedupe does not drop it: both pairs run.
    result = cli(
        "db.reset",
        "--yes",
        "users.seed-admin",
        "db.reset",
        "--yes",
        "--json",
        "users.seed-admin",
        "--json",
    )

    assert result.stdout.count("created admin admin@example.com") == 1
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "created"
    assert emails(cli_db) == ["admin@example.com"]
    assert user_row(cli_db, "admin@example.com")["role"] == "admin"


def test_seed_admin_twice_in_one_run_creates_the_admin_once(cli: Cli, cli_db: Db) -> None:
    result = cli("users.seed-admin", "--json", "users.seed-admin")

    assert result.stdout.splitlines()[-1] == "unchanged: admin@example.com already exists"
    assert emails(cli_db) == ["admin@example.com"]


def test_reset_then_seed_admin_in_two_runs_leaves_one_admin(cli: Cli, cli_db: Db) -> None:
    chain = ("db.reset", "--yes", "--json", "users.seed-admin", "--json")
    first = cli(*chain).json_lines
    second = cli(*chain).json_lines

    assert emails(cli_db) == ["admin@example.com"]
    assert first[-1]["status"] == second[-1]["status"] == "created"
