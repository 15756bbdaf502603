"""The `keys` tasks as an operator types them, on SQLite and PostgreSQL.

The raw key is printed once, at create or rotate, and is nowhere else: not in lists, audit rows,
logs or the database. Failing commands write nothing. Revoked, expired, rotated-past-grace keys
and keys of an inactive owner never verify; reactivating the owner restores its unexpired keys.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from backend.app.core.keys import parse_key
from tests.fixtures import keys as keys_fixtures
from tests.fixtures.keys import (
    ACCOUNT,
    CREATE_FIELDS,
    USER,
    anywhere_in,
    audit_actions,
    audit_rows,
    close_to,
    create_key,
    fails_and_writes_nothing,
    instant,
    key_time,
    now,
    verify,
)
from tests.fixtures.users import snapshot
from tests.support import Cli, Db

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db
owners = keys_fixtures.owners


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
