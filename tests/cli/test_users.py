"""The `users` tasks, typed as a user types them, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    audit_events,
    create_user,
    emails,
    fails_without_change,
    given_user,
    reused_db,
    snapshot,
    unchanged,
    user_row,
    verifies,
)
from tests.support import Cli, Db

db = reused_db

# -- users.create ----------------------------------------------------------------------------------


def test_create_prints_one_json_object_describing_the_user(cli: Cli, cli_db: Db) -> None:
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    result = cli(
        "users.create", "--email", "a@example.com", "--password-env", PASSWORD_ENV, "--json"
    )

    data = result.json
    assert data["status"] == "created"
    assert isinstance(data["id"], int)
    assert data["email"] == "a@example.com"
    assert data["role"] == "member"
    assert data["active"] is True
    assert "password" not in data
    assert "password_hash" not in data
    assert emails(cli_db) == ["a@example.com"]


def test_create_with_a_random_password_returns_it_once_and_stores_its_hash(
    cli: Cli, cli_db: Db
) -> None:
    result = cli("users.create", "--email", "a@example.com", "--random-password", "--json")

    password = result.json["password"]
    assert len(password) >= 12
    assert result.stdout.count(password) == 1
    assert password not in result.stderr
    assert verifies(password, user_row(cli_db, "a@example.com")["password_hash"])


def test_create_in_human_mode_says_what_it_created_and_shows_a_generated_password_once(
    cli: Cli, cli_db: Db
) -> None:
    result = cli("users.create", "--email", "a@example.com", "--random-password")

    assert "created user a@example.com (member)" in result.stdout
    password = result.stdout.split("password (shown once): ", 1)[1].strip()
    assert result.stdout.count(password) == 1
    assert verifies(password, user_row(cli_db, "a@example.com")["password_hash"])
    assert "profile dev" in result.stderr


def test_create_stores_the_normalised_email_role_name_and_status(cli: Cli, cli_db: Db) -> None:
    data = create_user(cli, "  Carol@Example.COM ", "--name", "Carol C", "--inactive", role="admin")

    assert data["email"] == "carol@example.com"
    row = user_row(cli_db, "carol@example.com")
    assert row["role"] == "admin"
    assert row["name"] == "Carol C"
    assert row["is_active"] is False
    assert row["password_hash"].startswith("$argon2id$")
    assert verifies(PASSWORD, row["password_hash"])


def test_create_reads_the_password_from_stdin_without_its_line_ending(cli: Cli, cli_db: Db) -> None:
    cli("users.create", "--email", "a@example.com", "--password-stdin", stdin=PASSWORD + "\n")

    stored = user_row(cli_db, "a@example.com")["password_hash"]
    assert verifies(PASSWORD, stored)
    assert not verifies(PASSWORD + "\n", stored)


def test_create_writes_one_audit_event_naming_the_password_source(cli: Cli, cli_db: Db) -> None:
    user = create_user(cli, "a@example.com")

    [event] = audit_events(cli_db)
    assert event["action"] == "user.create"
    assert event["actor"] == "test-runner"
    assert event["target"] == "a@example.com"
    assert event["target_id"] == str(user["id"])
    assert event["details"]["password_source"] == f"env:{PASSWORD_ENV}"


def test_create_if_not_exists_leaves_an_existing_user_unchanged(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "a@example.com")
    cli.monkeypatch.setenv("OTHER_PW", "a-different-password")

    result = unchanged(
        cli,
        cli_db,
        "users.create",
        "--email",
        "A@example.com",
        "--role",
        "admin",
        "--password-env",
        "OTHER_PW",
        "--if-not-exists",
    )

    assert "a@example.com" in result.stdout
    assert verifies(PASSWORD, user_row(cli_db, "a@example.com")["password_hash"])


def test_create_if_not_exists_in_json_mode_says_unchanged_and_shows_no_password(
    cli: Cli, cli_db: Db
) -> None:
    given_user(cli_db, "a@example.com")
    before = snapshot(cli_db)

    result = cli(
        "users.create", "--email", "a@example.com", "--random-password", "--if-not-exists", "--json"
    )

    assert result.json["status"] == "unchanged"
    assert "password" not in result.json
    assert snapshot(cli_db) == before


def test_create_of_an_existing_email_is_a_conflict(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    result = fails_without_change(
        cli,
        cli_db,
        "users.create",
        "--email",
        "bob@example.com",
        "--password-env",
        PASSWORD_ENV,
        expect=4,
    )
    assert "already exists" in result.stderr


def test_create_of_an_existing_email_in_another_case_is_a_conflict(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    fails_without_change(
        cli,
        cli_db,
        "users.create",
        "--email",
        "Bob@Example.COM",
        "--random-password",
        expect=4,
    )
    assert emails(cli_db) == ["bob@example.com"]


def test_create_with_an_invalid_email_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    for email in (
        "not-an-email",
        "a@b",
        "a b@example.com",
        "@example.com",
        "a@",
        "a@@example.com",
        "a@exa_mple.com",
        "a@example.123",
        "x" * 65 + "@example.com",
    ):
        result = fails_without_change(
            cli, cli_db, "users.create", "--email", email, "--random-password", expect=2
        )
        assert "invalid email" in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--role", "owner", "--random-password"], "invalid role"),
        ([], "a password source is required"),
        (["--random-password", "--password-env", PASSWORD_ENV], "only one of"),
        (["--password-stdin", "--random-password"], "only one of"),
        (["--password-env", "UNSET_PASSWORD_VARIABLE"], "is not set"),
        (["--password-env", "NOT A NAME"], "NAME of an environment variable"),
        (["--password-env", "SHORT_PW"], "shorter than 12"),
        (["--password-env", "BLANK_PW"], "password"),
        (["--password-stdin"], "there was no password on standard input"),
    ],
)
def test_create_with_a_bad_role_or_password_source_is_invalid_input(
    cli: Cli, cli_db: Db, flags: list[str], message: str
) -> None:
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cli.monkeypatch.setenv("SHORT_PW", "short")
    cli.monkeypatch.setenv("BLANK_PW", " " * 20)
    cli.monkeypatch.delenv("UNSET_PASSWORD_VARIABLE", raising=False)

    result = fails_without_change(
        cli, cli_db, "users.create", "--email", "a@example.com", *flags, expect=2, stdin="\n"
    )
    assert message in result.error_lines[0]


def test_create_without_an_email_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    result = fails_without_change(cli, cli_db, "users.create", "--random-password", expect=2)
    assert "--email" in result.stderr
