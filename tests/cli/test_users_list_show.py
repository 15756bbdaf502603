"""`users.list` and `users.show` and `users.set-password`, typed as a user types them."""

from __future__ import annotations

import pytest

from tests.fixtures.users import (
    PASSWORD,
    add_api_key,
    audit_events,
    fails_without_change,
    given_user,
    reused_db,
    user_row,
    verifies,
)
from tests.support import Cli, Db

db = reused_db


# -- users.list ------------------------------------------------------------------------------------


@pytest.fixture
def three_users(cli: Cli, cli_db: Db) -> list[str]:
    given_user(cli_db, "ann@example.com", name="Ann Admin", role="admin")
    given_user(cli_db, "bob@example.com", name="Bob")
    given_user(cli_db, "cy@example.com", active=False)
    return ["ann@example.com", "bob@example.com", "cy@example.com"]


def listed(cli: Cli, *flags: str) -> list[str]:
    rows = cli("users.list", "--json", *flags).json
    assert all(isinstance(row["id"], int) for row in rows)
    return [row["email"] for row in rows]


def test_list_shows_every_status_in_id_order_by_default(cli: Cli, three_users: list[str]) -> None:
    rows = cli("users.list", "--json").json

    assert [row["email"] for row in rows] == three_users
    assert [row["active"] for row in rows] == [True, True, False]
    assert [row["role"] for row in rows] == ["admin", "member", "member"]
    assert sorted(row["id"] for row in rows) == [row["id"] for row in rows]


def test_list_filters_by_status(cli: Cli, three_users: list[str]) -> None:
    assert listed(cli, "--status", "active") == ["ann@example.com", "bob@example.com"]
    assert listed(cli, "--status", "inactive") == ["cy@example.com"]
    assert listed(cli, "--status", "all") == three_users


def test_list_filters_by_role(cli: Cli, three_users: list[str]) -> None:
    assert listed(cli, "--role", "admin") == ["ann@example.com"]
    assert listed(cli, "--role", "member", "--status", "active") == ["bob@example.com"]


def test_list_searches_email_and_name_case_insensitively(cli: Cli, three_users: list[str]) -> None:
    assert listed(cli, "--search", "BOB@") == ["bob@example.com"]
    assert listed(cli, "--search", "admin") == ["ann@example.com"]
    assert listed(cli, "--search", "example.com") == three_users
    assert listed(cli, "--search", "nobody") == []


def test_list_search_takes_like_wildcards_literally(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "a_b@example.com")
    given_user(cli_db, "axb@example.com")
    given_user(cli_db, "pct%off@example.com")
    given_user(cli_db, "pctxoff@example.com", name="back\\slash")

    assert listed(cli, "--search", "a_b") == ["a_b@example.com"]
    assert listed(cli, "--search", "t%o") == ["pct%off@example.com"]
    assert listed(cli, "--search", "%") == ["pct%off@example.com"]
    assert listed(cli, "--search", "_") == ["a_b@example.com"]
    assert listed(cli, "--search", "k\\s") == ["pctxoff@example.com"]


def test_list_stops_at_the_limit(cli: Cli, three_users: list[str]) -> None:
    assert listed(cli, "--limit", "2") == three_users[:2]
    assert listed(cli, "--limit", "1", "--status", "inactive") == ["cy@example.com"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--limit", "abc"],
        ["--limit", "0"],
        ["--limit", "-1"],
        ["--status", "gone"],
        ["--role", "owner"],
    ],
)
def test_list_with_a_malformed_flag_is_invalid_input(
    cli: Cli, three_users: list[str], cli_db: Db, flags: list[str]
) -> None:
    fails_without_change(cli, cli_db, "users.list", *flags, expect=2)


def test_list_in_human_mode_prints_an_aligned_table(cli: Cli, three_users: list[str]) -> None:
    lines = cli("users.list").stdout.splitlines()

    assert lines[0].split() == ["ID", "EMAIL", "NAME", "ROLE", "ACTIVE", "CREATED"]
    assert len(lines) == 4
    assert lines[1].index("ann@example.com") == lines[0].index("EMAIL")
    assert lines[3].split()[1:5] == ["cy@example.com", "-", "member", "no"]


def test_list_prints_every_row_past_the_first_screenful(cli: Cli, cli_db: Db) -> None:
    # The human table sizes its columns from the first 200 rows, then streams the rest.
    values = ", ".join(
        f"('user{n:03d}@example.com', 'member', :active, 'x', CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        for n in range(250)
    )
    cli_db.rows(
        "INSERT INTO users (email, role, is_active, password_hash, created_at, updated_at, "
        f"password_changed_at) VALUES {values}",
        active=True,
    )

    lines = cli("users.list").stdout.splitlines()
    rows = cli("users.list", "--json").json

    assert len(lines) == 251
    assert lines[-1].split()[1] == "user249@example.com"
    assert [row["email"] for row in rows] == [f"user{n:03d}@example.com" for n in range(250)]
    assert len(cli("users.list", "--limit", "201").stdout.splitlines()) == 202


def test_list_of_no_users_is_an_empty_array_or_says_so(cli: Cli, cli_db: Db) -> None:
    assert cli("users.list", "--json").json == []
    assert cli("users.list").stdout.strip() == "(no users)"


# -- users.show ------------------------------------------------------------------------------------


def test_show_prints_the_user_found_by_any_case_of_its_email(cli: Cli, cli_db: Db) -> None:
    user_id = given_user(cli_db, "bob@example.com", name="Bob")

    data = cli("users.show", "BOB@example.com", "--json").json
    assert data["id"] == user_id
    assert data["email"] == "bob@example.com"
    assert data["live_api_keys"] == 0
    human = cli("users.show", "bob@example.com").stdout
    assert "email:" in human
    assert "bob@example.com" in human


def test_show_counts_the_users_live_api_keys_only(cli: Cli, cli_db: Db) -> None:
    user_id = given_user(cli_db, "bob@example.com")
    add_api_key(cli_db, user_id=user_id)
    add_api_key(cli_db, user_id=user_id, expires="2999-01-01 00:00:00")
    add_api_key(cli_db, user_id=user_id, revoked=True)
    add_api_key(cli_db, user_id=user_id, expires="2000-01-01 00:00:00")

    assert cli("users.show", "bob@example.com", "--json").json["live_api_keys"] == 2


def test_show_of_a_missing_user_is_not_found(cli: Cli, cli_db: Db) -> None:
    result = fails_without_change(cli, cli_db, "users.show", "ghost@example.com", expect=3)
    assert "ghost@example.com" in result.stderr


def test_show_of_an_invalid_email_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "users.show", "not-an-email", expect=2)


# -- users.set-password ----------------------------------------------------------------------------


def test_set_password_replaces_the_hash_so_only_the_new_password_verifies(
    cli: Cli, cli_db: Db
) -> None:
    given_user(cli_db, "bob@example.com")
    old = user_row(cli_db, "bob@example.com")
    cli.monkeypatch.setenv("NEW_PW", "a-brand-new-password")

    data = cli("users.set-password", "bob@example.com", "--password-env", "NEW_PW", "--json").json

    assert data["status"] == "updated"
    assert "password" not in data
    new = user_row(cli_db, "bob@example.com")
    assert new["password_hash"] != old["password_hash"]
    assert new["password_hash"].startswith("$argon2id$")
    assert verifies("a-brand-new-password", new["password_hash"])
    assert not verifies(PASSWORD, new["password_hash"])
    assert new["password_changed_at"] != old["password_changed_at"]
    event = audit_events(cli_db)[-1]
    assert (event["action"], event["target"]) == ("user.set_password", "bob@example.com")
    assert event["details"] == {"source": "env:NEW_PW"}


def test_set_password_to_a_random_one_prints_it_once(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    result = cli("users.set-password", "bob@example.com", "--random-password")

    password = result.stdout.split("password (shown once): ", 1)[1].strip()
    assert result.stdout.count(password) == 1
    assert verifies(password, user_row(cli_db, "bob@example.com")["password_hash"])


def test_set_password_of_a_missing_user_is_not_found_and_prints_no_password(
    cli: Cli, cli_db: Db
) -> None:
    fails_without_change(
        cli, cli_db, "users.set-password", "ghost@example.com", "--random-password", expect=3
    )


def test_set_password_to_a_too_short_password_changes_nothing(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    fails_without_change(
        cli,
        cli_db,
        "users.set-password",
        "bob@example.com",
        "--password-stdin",
        stdin="tiny\n",
        expect=2,
    )


def test_set_password_needs_a_password_source(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    fails_without_change(cli, cli_db, "users.set-password", "bob@example.com", expect=2)
