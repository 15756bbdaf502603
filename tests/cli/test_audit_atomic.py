"""The audit trail as it is written: one event per change with its actor, none for a no-op or a
read, and the event and its change in one transaction (neither without the other)."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator

import pytest

from tests.fixtures.users import (
    PASSWORD,
    PASSWORD_ENV,
    add_api_key,
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


# -- the event and the change share one transaction ------------------------------------------------

TRIGGER_SQL = {
    "sqlite": [
        "CREATE TRIGGER reject_audit BEFORE INSERT ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit trail unavailable'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION reject_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit trail unavailable'; END $$",
        "CREATE TRIGGER reject_audit BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION reject_audit()",
    ],
}
UNDO_TRIGGER_SQL = {
    "sqlite": ["DROP TRIGGER IF EXISTS reject_audit"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS reject_audit ON audit_events",
        "DROP FUNCTION IF EXISTS reject_audit()",
    ],
}


@pytest.fixture
def audit_rejected(cli_db: Db) -> Iterator[None]:
    """The database refuses every new audit event (a real failure, inside the transaction)."""
    for statement in TRIGGER_SQL[cli_db.kind]:
        cli_db.rows(statement)
    yield
    for statement in UNDO_TRIGGER_SQL[cli_db.kind]:
        cli_db.rows(statement)


@pytest.mark.usefixtures("audit_rejected")
def test_a_change_whose_audit_event_cannot_be_written_does_not_happen(
    cli: Cli, cli_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    given_user(cli_db, "ann@example.com", role="admin")
    bob = given_user(cli_db, "bob@example.com", role="admin")
    add_api_key(cli_db, user_id=bob)
    cli_db.rows(
        "INSERT INTO service_accounts (name, is_active, created_at, updated_at) "
        "VALUES ('ci', :active, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        active=True,
    )
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    for argv in (
        ("users.create", "--email", "new@example.com", "--password-env", PASSWORD_ENV),
        ("users.set-password", "bob@example.com", "--password-env", PASSWORD_ENV),
        ("users.set-role", "bob@example.com", "member"),
        ("users.deactivate", "bob@example.com"),
        ("users.delete", "bob@example.com", "--yes"),
        ("users.seed-admin", "--email", "root@example.com"),
        ("accounts.create", "deploy"),
        ("accounts.deactivate", "ci"),
        ("accounts.delete", "ci", "--yes"),
    ):
        # The database refused the change (a trigger): a rule of the database, exit 4.
        result = fails_without_change(cli, cli_db, *argv, expect=4)
        assert "audit trail unavailable" in result.stderr
