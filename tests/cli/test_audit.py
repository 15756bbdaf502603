"""The audit trail: one event per change, none for a no-op, and `audit.list` to read it."""

from __future__ import annotations

import getpass
import os
import socket

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    audit_events,
    create_account,
    create_user,
    fails_without_change,
    given_user,
    reused_db,
    snapshot,
)
from tests.support import Cli, Db

db = reused_db

# Each mutating task as typed, and the event it must write: (argv, action, target, details).
MUTATIONS: list[tuple[tuple[str, ...], str, str, dict[str, object]]] = [
    (
        ("users.create", "--email", "Bob@Example.com", "--password-env", PASSWORD_ENV),
        "user.create",
        "bob@example.com",
        {"role": "member", "active": True, "password_source": f"env:{PASSWORD_ENV}"},
    ),
    (
        ("users.seed-admin", "--email", "root@example.com", "--password-env", PASSWORD_ENV),
        "user.create",
        "root@example.com",
        {
            "role": "admin",
            "active": True,
            "via": "users.seed-admin",
            "password_source": f"env:{PASSWORD_ENV}",
        },
    ),
    (
        ("users.set-password", "bob@example.com", "--random-password"),
        "user.set_password",
        "bob@example.com",
        {"source": "random"},
    ),
    (
        ("users.set-role", "bob@example.com", "admin"),
        "user.set_role",
        "bob@example.com",
        {"from": "member", "to": "admin"},
    ),
    (("users.deactivate", "bob@example.com"), "user.deactivate", "bob@example.com", {}),
    (("users.activate", "bob@example.com"), "user.activate", "bob@example.com", {}),
    (
        ("users.delete", "bob@example.com", "--yes"),
        "user.delete",
        "bob@example.com",
        {"keys_deleted": 0},
    ),
    (("accounts.create", "ci"), "account.create", "ci", {}),
    (("accounts.deactivate", "ci"), "account.deactivate", "ci", {}),
    (("accounts.activate", "ci"), "account.activate", "ci", {}),
    (("accounts.delete", "ci", "--yes"), "account.delete", "ci", {"keys_deleted": 0}),
]


def test_every_mutating_task_writes_exactly_one_event_with_actor_action_target_and_details(
    cli: Cli, cli_db: Db
) -> None:
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for argv, action, target, details in MUTATIONS:
        before = audit_events(cli_db)

        cli(*argv)

        after = audit_events(cli_db)
        assert len(after) == len(before) + 1, argv
        event = after[-1]
        assert event["actor"] == "test-runner"
        assert (event["action"], event["target"]) == (action, target), argv
        for key, value in details.items():
            assert event["details"].get(key) == value, (argv, event)
        assert event["target_type"] == action.split(".")[0]
        assert event["target_id"] is not None


def test_events_record_the_id_of_their_target(cli: Cli, cli_db: Db) -> None:
    user = create_user(cli, "bob@example.com")
    account = create_account(cli, "ci")

    events = audit_events(cli_db)

    assert [(e["target_type"], e["target_id"]) for e in events] == [
        ("user", str(user["id"])),
        ("account", str(account["id"])),
    ]


def test_unchanged_operations_write_no_event(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")
    given_user(cli_db, "ann@example.com", role="admin")
    create_account(cli, "ci")
    before = snapshot(cli_db)

    for argv in (
        ("users.create", "--email", "bob@example.com", "--random-password", "--if-not-exists"),
        ("users.set-role", "bob@example.com", "member"),
        ("users.activate", "bob@example.com"),
        ("users.seed-admin", "--email", "ann@example.com"),
        ("accounts.activate", "ci"),
    ):
        cli(*argv)

    assert snapshot(cli_db) == before


def test_reading_tasks_write_no_event(cli: Cli, cli_db: Db) -> None:
    given_user(cli_db, "bob@example.com")
    create_account(cli, "ci")
    before = snapshot(cli_db)

    for argv in (
        ("users.list",),
        ("users.show", "bob@example.com"),
        ("accounts.list", "--all"),
        ("accounts.show", "ci"),
        ("audit.list",),
    ):
        cli(*argv)

    assert snapshot(cli_db) == before


def test_the_actor_defaults_to_the_os_user_at_the_host(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_ACTOR")

    create_account(cli, "ci")

    [event] = audit_events(cli_db)
    assert event["actor"] == f"cli:{getpass.getuser()}@{socket.gethostname()}"


def test_the_default_actor_survives_a_uid_without_a_passwd_entry(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_user() -> str:
        raise KeyError("getpwuid(): uid not found: 4242")  # what a container's bare uid gives

    monkeypatch.delenv("APP_ACTOR")
    monkeypatch.setattr(getpass, "getuser", no_such_user)

    create_account(cli, "ci")

    [event] = audit_events(cli_db)
    assert event["actor"] == f"cli:uid{os.getuid()}@{socket.gethostname()}"


def test_a_blank_app_actor_falls_back_to_the_default_actor(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ACTOR", "   ")

    create_account(cli, "ci")

    assert audit_events(cli_db)[0]["actor"].startswith("cli:")


def test_an_unprintable_app_actor_is_invalid_input_and_changes_nothing(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ACTOR", "mallory\x1b[2K")

    result = fails_without_change(cli, cli_db, "accounts.create", "ci", expect=2)
    assert "APP_ACTOR" in result.stderr


# -- audit.list ------------------------------------------------------------------------------------


@pytest.fixture
def history(cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Four events by two actors; returns their actions, oldest first."""
    create_user(cli, "bob@example.com")
    cli("users.deactivate", "bob@example.com")
    monkeypatch.setenv("APP_ACTOR", "deploy-bot")
    create_account(cli, "ci")
    cli("users.activate", "bob@example.com")
    return ["user.create", "user.deactivate", "account.create", "user.activate"]


def audit_list(cli: Cli, *flags: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = cli("audit.list", "--json", *flags).json
    return rows


def test_list_prints_every_event_newest_first_as_a_json_array(cli: Cli, history: list[str]) -> None:
    rows = audit_list(cli)

    assert [row["action"] for row in rows] == history[::-1]
    assert all(isinstance(row["id"], int) for row in rows)
    assert rows[0]["actor"] == "deploy-bot"
    assert rows[0]["target"] == "bob@example.com"
    assert rows[1]["details"] == {}


def test_list_stops_at_the_limit(cli: Cli, history: list[str]) -> None:
    assert [row["action"] for row in audit_list(cli, "--limit", "2")] == history[:1:-1]


def test_list_filters_by_exact_action_or_by_prefix(cli: Cli, history: list[str]) -> None:
    assert [row["action"] for row in audit_list(cli, "--action", "user.create")] == ["user.create"]
    assert [row["action"] for row in audit_list(cli, "--action", "user.*")] == [
        "user.activate",
        "user.deactivate",
        "user.create",
    ]
    assert [row["action"] for row in audit_list(cli, "--action", "account.")] == ["account.create"]
    assert audit_list(cli, "--action", "user") == []
    assert audit_list(cli, "--action", "%") == []
    assert audit_list(cli, "--action", "_ser.*") == []


def test_list_filters_by_actor(cli: Cli, history: list[str]) -> None:
    assert [row["action"] for row in audit_list(cli, "--actor", "deploy-bot")] == [
        "user.activate",
        "account.create",
    ]
    assert [row["action"] for row in audit_list(cli, "--actor", "test-runner")] == [
        "user.deactivate",
        "user.create",
    ]
    assert audit_list(cli, "--actor", "deploy") == []


def test_list_combines_filters(cli: Cli, history: list[str]) -> None:
    rows = audit_list(cli, "--actor", "deploy-bot", "--action", "user.*", "--limit", "5")

    assert [row["action"] for row in rows] == ["user.activate"]


def test_list_in_human_mode_prints_a_table(cli: Cli, history: list[str]) -> None:
    lines = cli("audit.list").stdout.splitlines()

    assert lines[0].split() == ["ID", "WHEN", "ACTOR", "ACTION", "TARGET", "DETAILS"]
    assert len(lines) == 5
    assert "user.activate" in lines[1]
    assert "deploy-bot" in lines[1]


def test_list_of_an_empty_trail_is_an_empty_array_or_says_so(cli: Cli, cli_db: Db) -> None:
    assert audit_list(cli) == []
    assert cli("audit.list").stdout.strip() == "(no audit events)"


def test_list_with_a_malformed_limit_is_invalid_input(
    cli: Cli, history: list[str], cli_db: Db
) -> None:
    for limit in ("abc", "0", "-3", "1.5"):
        fails_without_change(cli, cli_db, "audit.list", "--limit", limit, expect=2)
