"""The `accounts` tasks (service accounts), typed as a user types them, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.fixtures.users import (
    actions,
    add_api_key,
    api_key_owners,
    audit_events,
    create_account,
    fails_without_change,
    given_user,
    reused_db,
    unchanged,
    use_test_profile,
)
from tests.support import Cli, Db

db = reused_db


def account_names(db: Db) -> list[str]:
    return [row[0] for row in db.rows("SELECT name FROM service_accounts ORDER BY id")]


# -- accounts.create -------------------------------------------------------------------------------


def test_create_prints_one_json_object_and_audits_it(cli: Cli, cli_db: Db) -> None:
    data = create_account(cli, "ci-deploy", "--description", "the deploy pipeline")

    assert data["status"] == "created"
    assert isinstance(data["id"], int)
    assert (data["name"], data["description"], data["active"]) == (
        "ci-deploy",
        "the deploy pipeline",
        True,
    )
    [event] = audit_events(cli_db)
    assert (event["action"], event["target"], event["target_id"]) == (
        "account.create",
        "ci-deploy",
        str(data["id"]),
    )
    assert event["actor"] == "test-runner"


def test_create_in_human_mode_names_the_account(cli: Cli, cli_db: Db) -> None:
    result = cli("accounts.create", "ci")

    assert result.stdout.strip() == "created service account ci"
    assert account_names(cli_db) == ["ci"]


def test_create_normalises_an_upper_case_name(cli: Cli, cli_db: Db) -> None:
    assert create_account(cli, "  CI-Deploy ")["name"] == "ci-deploy"
    assert account_names(cli_db) == ["ci-deploy"]


def test_create_with_an_invalid_name_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    for name in ("", "-ci", "ci-", "ci deploy", "ci_deploy", "ci.deploy", "é", "x" * 65):
        result = fails_without_change(cli, cli_db, "accounts.create", "--name", name, expect=2)
        assert "invalid account name" in result.stderr


def test_create_with_a_description_containing_control_characters_is_invalid_input(
    cli: Cli, cli_db: Db
) -> None:
    fails_without_change(
        cli, cli_db, "accounts.create", "ci", "--description", "bad\x1b[31m", expect=2
    )


def test_create_of_an_existing_name_is_a_conflict(cli: Cli, cli_db: Db) -> None:
    create_account(cli, "ci")

    result = fails_without_change(cli, cli_db, "accounts.create", "CI", expect=4)
    assert "already exists" in result.stderr


# -- accounts.list / accounts.show -----------------------------------------------------------------


def test_list_hides_inactive_accounts_unless_all(cli: Cli, cli_db: Db) -> None:
    create_account(cli, "alpha")
    create_account(cli, "beta")
    cli("accounts.deactivate", "alpha")

    active = cli("accounts.list", "--json").json
    everything = cli("accounts.list", "--all", "--json").json

    assert [row["name"] for row in active] == ["beta"]
    assert [(row["name"], row["active"]) for row in everything] == [
        ("alpha", False),
        ("beta", True),
    ]
    assert all(isinstance(row["id"], int) for row in everything)


def test_list_in_human_mode_prints_a_table_or_says_there_are_none(cli: Cli, cli_db: Db) -> None:
    assert cli("accounts.list").stdout.strip() == "(no service accounts)"
    assert cli("accounts.list", "--json").json == []
    create_account(cli, "ci", "--description", "pipelines")

    lines = cli("accounts.list").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ACTIVE", "CREATED", "DESCRIPTION"]
    assert lines[1].split()[1:3] == ["ci", "yes"]


def test_show_prints_the_account_and_its_live_key_count(cli: Cli, cli_db: Db) -> None:
    account = create_account(cli, "ci")
    add_api_key(cli_db, account_id=account["id"])
    add_api_key(cli_db, account_id=account["id"], revoked=True)
    add_api_key(cli_db, account_id=account["id"], expires="2000-01-01 00:00:00")

    data = cli("accounts.show", "CI", "--json").json

    assert (data["id"], data["name"], data["live_api_keys"]) == (account["id"], "ci", 1)
    assert "name:" in cli("accounts.show", "ci").stdout


def test_show_of_a_missing_account_is_not_found(cli: Cli, cli_db: Db) -> None:
    result = fails_without_change(cli, cli_db, "accounts.show", "ghost", expect=3)
    assert "ghost" in result.stderr


def test_show_of_an_invalid_name_is_invalid_input(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "accounts.show", "not a slug", expect=2)


# -- accounts.activate / accounts.deactivate -------------------------------------------------------


def test_deactivate_and_activate_change_once_then_say_unchanged(cli: Cli, cli_db: Db) -> None:
    create_account(cli, "ci")

    assert cli("accounts.deactivate", "ci", "--json").json["status"] == "deactivated"
    unchanged(cli, cli_db, "accounts.deactivate", "ci")
    assert cli("accounts.activate", "ci", "--json").json["status"] == "activated"
    unchanged(cli, cli_db, "accounts.activate", "ci")

    assert actions(cli_db) == ["account.create", "account.deactivate", "account.activate"]


def test_activate_of_a_missing_account_is_not_found(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "accounts.activate", "ghost", expect=3)
    fails_without_change(cli, cli_db, "accounts.deactivate", "ghost", expect=3)


# -- accounts.delete -------------------------------------------------------------------------------


def test_delete_without_yes_is_refused_under_the_test_profile(cli: Cli, cli_db: Db) -> None:
    account = create_account(cli, "ci")
    add_api_key(cli_db, account_id=account["id"])
    use_test_profile(cli)

    result = fails_without_change(cli, cli_db, "accounts.delete", "ci", expect=5)
    assert "--yes" in result.stderr


def test_delete_with_yes_removes_the_account_and_only_its_api_keys(cli: Cli, cli_db: Db) -> None:
    ci = create_account(cli, "ci")
    other = create_account(cli, "other")
    user_id = given_user(cli_db, "bob@example.com")
    add_api_key(cli_db, account_id=ci["id"])
    add_api_key(cli_db, account_id=ci["id"])
    add_api_key(cli_db, account_id=other["id"])
    add_api_key(cli_db, user_id=user_id)
    use_test_profile(cli)

    data = cli("accounts.delete", "ci", "--yes", "--json").json

    assert (data["status"], data["name"], data["keys_deleted"]) == ("deleted", "ci", 2)
    assert account_names(cli_db) == ["other"]
    assert api_key_owners(cli_db) == [(None, other["id"]), (user_id, None)]
    event = audit_events(cli_db)[-1]
    assert (event["action"], event["target"], event["details"]) == (
        "account.delete",
        "ci",
        {"keys_deleted": 2},
    )


def test_delete_in_human_mode_says_how_many_keys_went_with_it(cli: Cli, cli_db: Db) -> None:
    create_account(cli, "ci")

    result = cli("accounts.delete", "ci")  # the dev profile does not ask for --yes

    assert result.stdout.strip() == "deleted service account ci and 0 API key(s)"


def test_delete_of_a_missing_account_is_not_found(cli: Cli, cli_db: Db) -> None:
    fails_without_change(cli, cli_db, "accounts.delete", "ghost", "--yes", expect=3)
