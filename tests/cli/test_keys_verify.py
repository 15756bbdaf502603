"""`keys.verify`, read-only: valid, malformed, rejected keys and their owners."""

from __future__ import annotations

import io
import sys
from datetime import timedelta

import pytest

from backend.app.core.keys import BASE62
from tests.fixtures import keys as keys_fixtures
from tests.fixtures.keys import (
    ACCOUNT,
    LONG_AGO,
    USER,
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


# -- verify ----------------------------------------------------------------------------------------


def test_verify_accepts_a_valid_key_and_names_its_owner(cli: Cli, owners: Db) -> None:
    created = create_key(cli, "--scope", "deploy")
    result = cli("keys.verify", "--json", stdin=created["key"] + "\n")
    assert result.json == {
        "valid": True,
        "reason": None,
        "key_id": created["id"],
        "display_prefix": created["display_prefix"],
        "owner_type": "account",
        "owner": ACCOUNT,
        "status": "active",
        "scopes": ["deploy"],
        "expires_at": created["expires_at"],
        "last_used_at": None,
    }
    assert created["key"] not in result.stdout + result.stderr
    user_key = create_key(cli, "--user", USER)["key"]
    shown = cli("keys.verify", "--json", stdin=user_key).json
    assert (shown["owner_type"], shown["owner"]) == ("user", USER)


def test_verify_names_a_rejected_key_and_its_owner(cli: Cli, owners: Db) -> None:
    created = create_key(cli)
    cli("keys.revoke", str(created["id"]))
    result = cli("keys.verify", stdin=created["key"] + "\n", expect=3)
    which = f"key {created['id']} ({created['display_prefix']}) of account {ACCOUNT}"
    assert result.stdout == f"rejected: {which}\n"
    assert result.error_lines == [f"error: API key rejected (revoked): {which}"]


def test_verify_quiet_prints_nothing_and_answers_by_its_exit_code(cli: Cli, owners: Db) -> None:
    created = create_key(cli)
    assert cli("keys.verify", "--quiet", stdin=created["key"]).stdout == ""
    cli("keys.revoke", str(created["id"]))
    assert cli("keys.verify", "--quiet", stdin=created["key"], expect=3).stdout == ""
    cli("keys.verify", "--quiet", "--json", stdin=created["key"], expect=2)


def test_verify_rejects_malformed_keys_with_exit_2(cli: Cli, owners: Db) -> None:
    key = create_key(cli)["key"]
    position = len("bk_") + 10
    changed = key[:position] + BASE62[(BASE62.index(key[position]) + 1) % 62] + key[position + 1 :]
    for text in (changed, key[:-1], key + "x", "garbage", "bk_" + "0" * 38, "\n"):
        result = fails_and_writes_nothing(cli, owners, "keys.verify", stdin=text + "\n", code=2)
        assert key not in result
        assert changed not in result
    fails_and_writes_nothing(cli, owners, "keys.verify", stdin="", code=2)


def test_verify_treats_bytes_that_are_not_utf8_as_a_malformed_key(
    cli: Cli, owners: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a strict UTF-8 locale (e.g. en_US.UTF-8) stdin raises on such bytes."""
    raw = create_key(cli)["key"].encode()
    stdin = io.TextIOWrapper(io.BytesIO(raw[:10] + b"\xff\xfe" + raw[12:] + b"\n"), "utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    line = fails_and_writes_nothing(cli, owners, "keys.verify", code=2)
    assert "malformed API key" in line
    assert raw.decode()[:10] not in line


def test_verify_rejects_unknown_revoked_and_expired_keys_with_their_reason(
    cli: Cli, owners: Db
) -> None:
    from backend.app.core.keys import generate_key

    assert rejection(cli, generate_key("bk_")) == "unknown"
    assert rejection(cli, generate_key("other_")) == "unknown"

    revoked = create_key(cli)
    cli("keys.revoke", str(revoked["id"]))
    assert rejection(cli, revoked["key"]) == "revoked"

    expired = create_key(cli)
    set_key_time(owners, expired["id"], "expires_at", now() - timedelta(seconds=1))
    assert rejection(cli, expired["key"]) == "expired"
    assert cli("keys.show", str(expired["id"]), "--json").json["status"] == "expired"
    assert all(
        key not in result.stdout + result.stderr
        for result in cli.history
        for key in (revoked["key"], expired["key"])
        if result.argv[0] == "keys.verify"
    )


@pytest.mark.parametrize("kind", ["account", "user"])
def test_an_inactive_owner_s_keys_fail_and_reactivation_restores_the_unexpired_ones(
    cli: Cli, owners: Db, kind: str
) -> None:
    owner = ["--account", ACCOUNT] if kind == "account" else ["--user", USER]
    name = ACCOUNT if kind == "account" else USER
    deactivate = ["accounts.deactivate", name] if kind == "account" else ["users.deactivate", name]
    activate = ["accounts.activate", name] if kind == "account" else ["users.activate", name]
    live = create_key(cli, *owner)
    expired = create_key(cli, *owner)
    revoked = create_key(cli, *owner)
    set_key_time(owners, expired["id"], "expires_at", LONG_AGO)
    cli("keys.revoke", str(revoked["id"]))

    cli(*deactivate)
    assert rejection(cli, live["key"]) == "owner inactive"
    assert rejection(cli, expired["key"]) == "expired"
    assert rejection(cli, revoked["key"]) == "revoked"
    assert cli("keys.show", str(live["id"]), "--json").json["status"] == "owner inactive"
    fails_and_writes_nothing(cli, owners, "keys.rotate", str(live["id"]), code=4)

    cli(*activate)
    assert verify(cli, live["key"]).code == 0
    assert rejection(cli, expired["key"]) == "expired"
    assert rejection(cli, revoked["key"]) == "revoked"


def test_verify_is_read_only_so_checking_a_leaked_key_keeps_when_it_was_last_used(
    cli: Cli, owners: Db
) -> None:
    """Only authenticate() (the application's path) records use; see test_authenticate."""
    created = create_key(cli)
    before = snapshot(owners)
    verify(cli, created["key"])
    assert key_time(owners, created["id"], "last_used_at") is None

    a_week_ago = now() - timedelta(days=7)
    set_key_time(owners, created["id"], "last_used_at", a_week_ago)
    shown = cli("keys.verify", "--json", stdin=created["key"]).json
    assert instant(shown["last_used_at"]) == a_week_ago.replace(microsecond=0)
    assert key_time(owners, created["id"], "last_used_at") == a_week_ago
    set_key_time(owners, created["id"], "last_used_at", None)
    assert snapshot(owners) == before


def test_a_failed_verification_does_not_record_use(cli: Cli, owners: Db) -> None:
    created = create_key(cli)
    cli("keys.revoke", str(created["id"]))
    before = snapshot(owners)
    rejection(cli, created["key"])
    assert snapshot(owners) == before


def test_the_snapshot_helper_sees_exactly_what_db_dump_sees(cli: Cli, owners: Db) -> None:
    create_key(cli, "--scope", "deploy")
    assert snapshot(owners) == owners.dump()
    assert set(snapshot(owners)) >= {"api_keys", "audit_events", "users", "service_accounts"}
