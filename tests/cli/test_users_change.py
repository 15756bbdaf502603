"""`users.set-role`, `users.activate`/`deactivate` and `users.delete`, as typed."""

from __future__ import annotations

from tests.fixtures.users import (
    actions,
    add_api_key,
    api_key_owners,
    audit_events,
    emails,
    fails_without_change,
    given_user,
    reused_db,
    unchanged,
    use_test_profile,
    user_row,
)
from tests.support import Cli, Db

db = reused_db


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
