"""`keys.list`, `keys.show`, `keys.revoke` and `keys.rotate`, as an operator types them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.app.core.keys import parse_key
from tests.fixtures import keys as keys_fixtures
from tests.fixtures.keys import (
    ACCOUNT,
    LONG_AGO,
    USER,
    anywhere_in,
    audit_actions,
    close_to,
    create_key,
    fails_and_writes_nothing,
    instant,
    key_time,
    now,
    rejection,
    set_key_time,
    verify,
)
from tests.fixtures.users import snapshot
from tests.support import Cli, Db

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db
owners = keys_fixtures.owners


# -- list and show ---------------------------------------------------------------------------------


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_list_hides_revoked_and_expired_keys_unless_all(cli: Cli, owners: Db) -> None:
    live = create_key(cli)["id"]
    revoked = create_key(cli)["id"]
    expired = create_key(cli)["id"]
    cli("keys.revoke", str(revoked))
    set_key_time(owners, expired, "expires_at", LONG_AGO)

    listed = cli("keys.list", "--json").json
    assert isinstance(listed, list)
    assert _ids(listed) == [live]
    assert listed[0]["status"] == "active"
    everything = {row["id"]: row for row in cli("keys.list", "--all", "--json").json}
    assert sorted(everything) == [live, revoked, expired]
    assert everything[revoked]["status"] == "revoked"
    assert everything[expired]["status"] == "expired"


def test_list_filters_by_user_or_account(cli: Cli, owners: Db) -> None:
    account_key = create_key(cli)["id"]
    user_key = create_key(cli, "--user", USER)["id"]
    cli("accounts.create", "other")
    other_key = create_key(cli, "--account", "other")["id"]
    assert _ids(cli("keys.list", "--json").json) == [account_key, user_key, other_key]
    assert _ids(cli("keys.list", "--account", ACCOUNT, "--json").json) == [account_key]
    assert _ids(cli("keys.list", "--user", USER, "--json").json) == [user_key]
    assert _ids(cli("keys.list", "--account", "other", "--all", "--json").json) == [other_key]
    cli("keys.list", "--account", "nobody", expect=3)
    cli("keys.list", "--user", "nobody@example.com", expect=3)
    cli("keys.list", "--account", ACCOUNT, "--user", USER, expect=2)


def test_list_shows_the_display_prefix_in_a_table(cli: Cli, owners: Db) -> None:
    created = create_key(cli, "--name", "deploy")
    table = cli("keys.list").stdout
    assert created["display_prefix"] in table
    assert "deploy" in table
    assert created["key"] not in table
    assert cli("keys.list", "--user", USER).stdout.strip() == "(no API keys)"


def test_show_gives_one_object_without_the_key(cli: Cli, owners: Db) -> None:
    created = create_key(cli, "--scope", "deploy")
    shown = cli("keys.show", str(created["id"]), "--json").json
    assert shown["id"] == created["id"]
    assert shown["display_prefix"] == created["display_prefix"]
    assert shown["owner"] == ACCOUNT
    assert shown["status"] == "active"
    assert shown["scopes"] == ["deploy"]
    assert "key" not in shown
    assert created["key"] not in cli("keys.show", str(created["id"])).stdout


def test_show_revoke_and_rotate_reject_a_bad_or_unknown_id(cli: Cli, owners: Db) -> None:
    create_key(cli)
    for key_id, code in [("999", 3), ("abc", 2), ("0", 2), ("-1", 2), ("²", 2), ("1.5", 2)]:
        for task in ("keys.show", "keys.revoke", "keys.rotate"):
            fails_and_writes_nothing(cli, owners, task, key_id, code=code)


# -- revoke ----------------------------------------------------------------------------------------


def test_revoke_is_idempotent_and_audited_once(cli: Cli, owners: Db) -> None:
    created = create_key(cli)
    first = cli("keys.revoke", str(created["id"]), "--json").json
    assert first["status"] == "revoked"
    revoked_at = key_time(owners, created["id"], "revoked_at")
    assert revoked_at is not None
    assert close_to(revoked_at, now())

    before = snapshot(owners)
    second = cli("keys.revoke", str(created["id"]))
    assert second.stdout.startswith("unchanged")
    assert cli("keys.revoke", str(created["id"]), "--json").json["status"] == "unchanged"
    assert snapshot(owners) == before
    assert audit_actions(owners).count("key.revoke") == 1
    assert rejection(cli, created["key"]) == "revoked"


# -- rotate ----------------------------------------------------------------------------------------


def test_rotate_without_grace_stops_the_old_key_at_once(cli: Cli, owners: Db) -> None:
    old = create_key(cli, "--name", "deploy", "--scope", "deploy", "--expires-in", "30d")
    result = cli("keys.rotate", str(old["id"]), "--json")
    new = result.json
    assert (result.stdout + result.stderr).count(new["key"]) == 1
    assert old["key"] not in result.stdout + result.stderr
    assert new["id"] != old["id"]
    assert new["replaces"] == old["id"]
    assert (new["owner"], new["name"], new["scopes"]) == (ACCOUNT, "deploy", ["deploy"])
    assert close_to(instant(new["expires_at"]), now() + timedelta(days=30))
    assert parse_key(new["key"]).value == new["key"]

    assert rejection(cli, old["key"]) == "revoked"
    assert verify(cli, new["key"]).code == 0
    assert cli("keys.show", str(old["id"]), "--json").json["replaced_by"] == new["id"]
    assert audit_actions(owners)[-1] == "key.rotate"
    assert anywhere_in(snapshot(owners), new["key"]) == []


def test_rotate_quiet_prints_only_the_new_key(cli: Cli, owners: Db) -> None:
    old = create_key(cli)
    result = cli("keys.rotate", str(old["id"]), "--quiet")
    new_key = result.stdout[:-1]
    assert result.stdout == new_key + "\n"
    assert verify(cli, new_key).code == 0
    cli("keys.rotate", str(old["id"]), "--quiet", "--json", expect=2)


def test_rotate_with_grace_keeps_the_old_key_working_until_the_grace_ends(
    cli: Cli, owners: Db
) -> None:
    old = create_key(cli, "--no-expiry")
    new = cli("keys.rotate", str(old["id"]), "--grace", "1h", "--json").json
    old_ends = key_time(owners, old["id"], "expires_at")
    assert old_ends is not None
    assert close_to(old_ends, now() + timedelta(hours=1))
    assert instant(new["old_key_ends"]) == old_ends.replace(microsecond=0)
    assert new["expires_at"] is None  # the replacement keeps the old key's lifetime
    assert verify(cli, old["key"]).code == 0
    assert verify(cli, new["key"]).code == 0
    assert _ids(cli("keys.list", "--json").json) == [old["id"], new["id"]]

    set_key_time(owners, old["id"], "expires_at", now() - timedelta(seconds=1))
    assert rejection(cli, old["key"]) == "expired"
    assert verify(cli, new["key"]).code == 0
    assert _ids(cli("keys.list", "--json").json) == [new["id"]]


def test_rotating_a_revoked_key_or_rotating_twice_is_a_conflict(cli: Cli, owners: Db) -> None:
    revoked = create_key(cli)["id"]
    cli("keys.revoke", str(revoked))
    fails_and_writes_nothing(cli, owners, "keys.rotate", str(revoked), code=4)

    once = create_key(cli)["id"]
    cli("keys.rotate", str(once))
    fails_and_writes_nothing(cli, owners, "keys.rotate", str(once), code=4)

    in_grace = create_key(cli)["id"]
    cli("keys.rotate", str(in_grace), "--grace", "1h")
    fails_and_writes_nothing(cli, owners, "keys.rotate", str(in_grace), "--grace", "1h", code=4)

    expired = create_key(cli)["id"]
    set_key_time(owners, expired, "expires_at", LONG_AGO)
    fails_and_writes_nothing(cli, owners, "keys.rotate", str(expired), code=4)

    live = create_key(cli)["id"]
    for grace in ("10x", "-1h", "99999999d", "999999999w", ""):
        fails_and_writes_nothing(cli, owners, "keys.rotate", str(live), "--grace", grace, code=2)
