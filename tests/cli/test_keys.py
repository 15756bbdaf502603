"""The `keys` tasks as an operator types them, on SQLite and PostgreSQL.

The raw key is printed once, at create or rotate, and is nowhere else: not in lists, audit rows,
logs or the database. Failing commands write nothing. Revoked, expired, rotated-past-grace keys
and keys of an inactive owner never verify; reactivating the owner restores its unexpired keys.
"""

from __future__ import annotations

import io
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.app.core.keys import BASE62, parse_key
from tests.fixtures import keys as keys_fixtures
from tests.fixtures.keys import (
    ACCOUNT,
    USER,
    anywhere_in,
    audit_actions,
    audit_rows,
    create_key,
    key_time,
    rejection,
    set_key_time,
    snapshot,
    verify,
)
from tests.support import Cli, Db

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db
owners = keys_fixtures.owners

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)
CREATE_FIELDS = {"id", "display_prefix", "owner_type", "owner", "scopes", "expires_at", "key"}


def now() -> datetime:
    return datetime.now(UTC)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def close_to(value: datetime, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(value - expected) < slack


def fails_and_writes_nothing(
    cli: Cli, db: Db, *argv: str, code: int, stdin: str | None = None
) -> str:
    """Run a command that must fail with ``code``, print one error line, and change no row."""
    before = snapshot(db)
    result = cli(*argv, expect=code, stdin=stdin)
    assert len(result.error_lines) == 1, str(result)
    assert snapshot(db) == before, f"{result}\nchanged the database"
    return result.error_lines[0]


# -- create ----------------------------------------------------------------------------------------


def test_create_for_an_account_prints_one_object_with_the_key(cli: Cli, owners: Db) -> None:
    created = create_key(cli, "--name", "deploy", "--scope", "users:read", "--scope", "keys:write")
    assert set(created) >= CREATE_FIELDS
    assert created["owner_type"] == "account"
    assert created["owner"] == ACCOUNT
    assert created["name"] == "deploy"
    assert created["scopes"] == ["keys:write", "users:read"]
    assert isinstance(created["id"], int)
    key = created["key"]
    assert parse_key(key).prefix == "bk_"
    assert created["display_prefix"] == key[: len("bk_") + 8]
    assert owners.count("api_keys") == 1


def test_create_for_a_user_names_the_user_as_owner(cli: Cli, owners: Db) -> None:
    created = create_key(cli, "--user", "Dev@Example.com")
    assert created["owner_type"] == "user"
    assert created["owner"] == USER
    assert created["scopes"] == []
    assert verify(cli, created["key"]).stdout.startswith("valid: ")


def test_account_keys_expire_in_90_days_by_default_and_user_keys_never(
    cli: Cli, owners: Db
) -> None:
    account_key = create_key(cli)
    assert close_to(instant(account_key["expires_at"]), now() + timedelta(days=90))
    stored = key_time(owners, account_key["id"], "expires_at")
    assert stored is not None
    assert close_to(stored, now() + timedelta(days=90))
    user_key = create_key(cli, "--user", USER)
    assert user_key["expires_at"] is None
    assert key_time(owners, user_key["id"], "expires_at") is None


def test_the_default_expiries_come_from_settings(
    cli: Cli, owners: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEYS__ACCOUNT_DEFAULT_EXPIRY", "7d")
    monkeypatch.setenv("APP_API_KEYS__USER_DEFAULT_EXPIRY", "12h")
    assert close_to(instant(create_key(cli)["expires_at"]), now() + timedelta(days=7))
    user_key = create_key(cli, "--user", USER)
    assert close_to(instant(user_key["expires_at"]), now() + timedelta(hours=12))


def test_expires_in_expires_at_and_no_expiry_set_the_expiry(cli: Cli, owners: Db) -> None:
    in_a_day = create_key(cli, "--expires-in", "24h")
    assert close_to(instant(in_a_day["expires_at"]), now() + timedelta(hours=24))
    combined = create_key(cli, "--expires-in", "1d12h")
    assert close_to(instant(combined["expires_at"]), now() + timedelta(hours=36))
    at = create_key(cli, "--expires-at", "2099-01-31T12:00:00Z")
    assert instant(at["expires_at"]) == datetime(2099, 1, 31, 12, tzinfo=UTC)
    assert key_time(owners, at["id"], "expires_at") == datetime(2099, 1, 31, 12, tzinfo=UTC)
    offset = create_key(cli, "--expires-at", "2099-01-31T14:00:00+02:00")
    assert instant(offset["expires_at"]) == datetime(2099, 1, 31, 12, tzinfo=UTC)
    bare_date = create_key(cli, "--expires-at", "2099-01-31")
    assert instant(bare_date["expires_at"]) == datetime(2099, 1, 31, tzinfo=UTC)
    forever = create_key(cli, "--no-expiry")
    assert forever["expires_at"] is None
    assert key_time(owners, forever["id"], "expires_at") is None


def test_quiet_prints_exactly_the_key_and_a_newline(cli: Cli, owners: Db) -> None:
    result = cli("keys.create", "--account", ACCOUNT, "--quiet")
    key = result.stdout[:-1]
    assert result.stdout == key + "\n"
    assert parse_key(key).value == key
    assert key not in result.stderr
    assert verify(cli, key).code == 0


def test_quiet_with_json_is_invalid_input_and_writes_nothing(
    cli: Cli, owners: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["keys.create", "--account", ACCOUNT, "--quiet"]
    line = fails_and_writes_nothing(cli, owners, *argv, "--json", code=2)
    assert "--quiet" in line
    assert cli.history[-1].stdout == ""
    monkeypatch.setenv("APP_OUTPUT", "json")
    fails_and_writes_nothing(cli, owners, *argv, code=2)
    assert cli.history[-1].stdout == ""


def test_the_raw_key_appears_exactly_once_in_everything_a_create_prints_and_logs(
    cli: Cli,
    owners: Db,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    for mode in ("human", "json", "quiet", "debug"):
        flags = {"json": ["--json"], "quiet": ["--quiet"]}.get(mode, [])
        if mode == "debug":
            monkeypatch.setenv("APP_DEBUG", "1")  # and it stays on for the commands below
        caplog.clear()
        result = cli("keys.create", "--account", ACCOUNT, "--scope", "deploy", *flags)
        key = result.json["key"] if mode == "json" else _key_in(result.stdout)
        assert (result.stdout + result.stderr + _logged(caplog)).count(key) == 1, str(result)
        assert result.stdout.count(key) == 1
        issued.append(key)

    # ...and never again: not in any list, show, verify, audit row, table or log.
    caplog.clear()
    start = len(cli.history)
    for key_id in owners.rows("SELECT id FROM api_keys"):
        cli("keys.show", str(key_id[0]), "--json")
    cli("keys.show", "1")
    for key in issued:
        verify(cli, key)
    cli("keys.list")
    cli("keys.list", "--all", "--json")
    cli("audit.list")
    cli("audit.list", "--json")
    cli("accounts.show", ACCOUNT)
    later = "\n".join(r.stdout + r.stderr for r in cli.history[start:])
    dump = snapshot(owners)
    for key in issued:
        assert key not in later
        assert key not in _logged(caplog)
        assert all(key not in str(row) for row in audit_rows(owners))
        assert anywhere_in(dump, key) == []
        assert anywhere_in(dump, key[len("bk_") + 8 :]) == []  # not even the secret part


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )


def _key_in(text: str) -> str:
    found = [word for word in text.split() if word.startswith("bk_") and len(word) == 41]
    assert len(found) == 1, text
    return found[0]


BAD_EXPIRIES = [
    ["--expires-in", "0d"],
    ["--expires-in", "-5d"],
    ["--expires-in", "10x"],
    ["--expires-in", ""],
    ["--expires-in", " "],
    ["--expires-in", "99999999d"],  # over 100 years
    ["--expires-in", "999999999w"],  # past the last date Python can represent
    ["--expires-in", "5"],
    ["--expires-at", "2001-01-01T00:00:00Z"],
    ["--expires-at", "yesterday"],
    ["--expires-at", ""],
    ["--expires-at", "9999-12-31T23:59:59Z"],
    ["--expires-in", "1d", "--no-expiry"],
    ["--expires-in", "1d", "--expires-at", "2099-01-01"],
    ["--expires-at", "2099-01-01", "--no-expiry"],
]


def test_a_bad_expiry_is_invalid_input_and_writes_nothing(cli: Cli, owners: Db) -> None:
    for flags in BAD_EXPIRIES:
        fails_and_writes_nothing(cli, owners, "keys.create", "--account", ACCOUNT, *flags, code=2)
    for flags in BAD_EXPIRIES[3:7]:
        fails_and_writes_nothing(cli, owners, "keys.create", "--user", USER, *flags, code=2)
    assert owners.count("api_keys") == 0


def test_bad_owners_fail_with_their_exit_codes_and_write_nothing(cli: Cli, owners: Db) -> None:
    cases: list[tuple[list[str], int]] = [
        (["--account", "nobody"], 3),
        (["--user", "nobody@example.com"], 3),
        (["--account", ACCOUNT, "--user", USER], 2),
        ([], 2),
        (["--user", "not-an-email"], 2),
        (["--account", "Not A Name"], 2),
        (["--account", ACCOUNT, "--scope", "BAD SCOPE!"], 2),
    ]
    for flags, code in cases:
        fails_and_writes_nothing(cli, owners, "keys.create", *flags, code=code)
    cli("accounts.deactivate", ACCOUNT)
    cli("users.deactivate", USER)
    line = fails_and_writes_nothing(cli, owners, "keys.create", "--account", ACCOUNT, code=4)
    assert "inactive" in line
    fails_and_writes_nothing(cli, owners, "keys.create", "--user", USER, code=4)
    assert owners.count("api_keys") == 0


def test_create_writes_one_audit_event_without_the_key(cli: Cli, owners: Db) -> None:
    before = len(audit_actions(owners))
    created = create_key(cli, "--name", "deploy")
    assert audit_actions(owners)[before:] == ["key.create"]
    row = audit_rows(owners)[-1]
    assert created["display_prefix"] in row
    assert str(created["id"]) in row
    assert created["key"] not in str(row)


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
