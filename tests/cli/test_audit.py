"""`audit.list`: reading the trail, newest first, filtered and limited.

What writes the events (one per change, none for a no-op, in the change's own transaction) is
in test_audit_atomic.py."""

from __future__ import annotations

import pytest

from tests.fixtures.users import (
    create_account,
    create_user,
    fails_without_change,
    reused_db,
)
from tests.support import Cli, Db

db = reused_db


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
