"""The `users` tasks, typed as a user types them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    actions,
    add_api_key,
    api_key_owners,
    audit_events,
    create_user,
    emails,
    fails_without_change,
    given_user,
    reused_db,
    snapshot,
    unchanged,
    use_test_profile,
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


# -- users.set-role --------------------------------------------------------------------------------


def test_set_role_promotes_a_member_and_audits_the_change(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    data = cli("users.set-role", "bob@example.com", "admin", "--json").json

    assert (data["status"], data["role"]) == ("updated", "admin")
    assert user_row(cli_db, "bob@example.com")["role"] == "admin"
    event = audit_events(cli_db)[-1]
    assert event["action"] == "user.set_role"
    assert event["details"] == {"from": "member", "to": "admin"}


def test_set_role_to_the_current_role_is_unchanged(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    unchanged(cli, cli_db, "users.set-role", "bob@example.com", "member")


def test_set_role_demotes_an_admin_while_another_active_admin_remains(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    given_user(cli_db, "bea@example.com", role="admin")

    cli("users.set-role", "ann@example.com", "member")

    assert user_row(cli_db, "ann@example.com")["role"] == "member"


def test_set_role_refuses_to_demote_the_last_active_admin(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    given_user(cli_db, "old@example.com", active=False, role="admin")

    result = fails_without_change(
        cli, cli_db, "users.set-role", "ann@example.com", "member", expect=4
    )
    assert "last active admin" in result.stderr


def test_set_role_to_an_unknown_role_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    fails_without_change(cli, cli_db, "users.set-role", "bob@example.com", "root", expect=2)


def test_set_role_of_a_missing_user_is_not_found(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "users.set-role", "ghost@example.com", "admin", expect=3)


# -- users.activate / users.deactivate -------------------------------------------------------------


def test_deactivate_and_activate_change_the_status_once_then_say_unchanged(
    cli: Cli, cli_db: Db
) -> None:
    given_user(cli_db, "bob@example.com")

    assert cli("users.deactivate", "bob@example.com", "--json").json["status"] == "deactivated"
    assert user_row(cli_db, "bob@example.com")["is_active"] is False
    unchanged(cli, cli_db, "users.deactivate", "bob@example.com")
    assert cli("users.activate", "bob@example.com", "--json").json["status"] == "activated"
    assert user_row(cli_db, "bob@example.com")["is_active"] is True
    unchanged(cli, cli_db, "users.activate", "bob@example.com")

    assert actions(cli_db) == ["user.deactivate", "user.activate"]


def test_deactivate_refuses_the_last_active_admin(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    given_user(cli_db, "bob@example.com")

    result = fails_without_change(cli, cli_db, "users.deactivate", "ann@example.com", expect=4)
    assert "last active admin" in result.stderr


def test_deactivate_of_a_missing_user_is_not_found(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "users.deactivate", "ghost@example.com", expect=3)
    fails_without_change(cli, cli_db, "users.activate", "ghost@example.com", expect=3)


# -- users.delete ----------------------------------------------------------------------------------


def test_delete_without_yes_is_refused_under_the_test_profile(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")
    use_test_profile(cli)

    result = fails_without_change(cli, cli_db, "users.delete", "bob@example.com", expect=5)
    assert "--yes" in result.stderr


def test_delete_without_yes_is_refused_with_the_profile_flag_too(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    fails_without_change(
        cli, cli_db, "--profile", "test", "users.delete", "bob@example.com", expect=5
    )


def test_delete_with_yes_removes_the_user_and_only_its_api_keys(cli: Cli, cli_db: Db) -> None:
    bob_id = given_user(cli_db, "bob@example.com")
    cat_id = given_user(cli_db, "cat@example.com")
    add_api_key(cli_db, user_id=bob_id)
    add_api_key(cli_db, user_id=bob_id)
    add_api_key(cli_db, user_id=cat_id)
    use_test_profile(cli)

    data = cli("users.delete", "bob@example.com", "--yes", "--json").json

    assert (data["status"], data["keys_deleted"]) == ("deleted", 2)
    assert emails(cli_db) == ["cat@example.com"]
    assert api_key_owners(cli_db) == [(cat_id, None)]
    event = audit_events(cli_db)[-1]
    assert (event["action"], event["target"]) == ("user.delete", "bob@example.com")
    assert event["details"] == {"keys_deleted": 2}


def test_delete_is_confirmed_by_app_assume_yes(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")
    use_test_profile(cli)
    cli.monkeypatch.setenv("APP_ASSUME_YES", "1")

    assert "deleted user bob@example.com" in cli("users.delete", "bob@example.com").stdout
    assert emails(cli_db) == []


def test_delete_needs_no_yes_under_the_dev_profile(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")

    cli("users.delete", "bob@example.com")

    assert emails(cli_db) == []


def test_delete_of_a_missing_user_is_not_found(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "users.delete", "ghost@example.com", "--yes", expect=3)


def test_delete_refuses_the_last_active_admin(cli: Cli, cli_db: Db) -> None:
    admin_id = given_user(cli_db, "ann@example.com", role="admin")
    add_api_key(cli_db, user_id=admin_id)

    fails_without_change(cli, cli_db, "users.delete", "ann@example.com", "--yes", expect=4)


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
