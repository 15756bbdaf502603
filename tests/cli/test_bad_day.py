"""The README's "On a bad day" recipes and the quarterly review, run as written, on every engine.

A leaked key, a person leaving, a suspicious actor, the reports an access review runs,
retention, and moving principals between databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.keys import set_key_time
from tests.fixtures.users import PASSWORD, PASSWORD_ENV, snapshot
from tests.support import Cli, Db

BOB = "bob@example.com"


@pytest.fixture
def office(cli: Cli, cli_db: Db) -> Db:
    """An admin, bob with two keys, a CI account with two keys."""
    cli.monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    cli("users.seed-admin", "--password-env", PASSWORD_ENV)
    cli("users.create", "--email", BOB, "--password-env", PASSWORD_ENV)
    cli("accounts.create", "ci")
    for owner in (("--user", BOB), ("--user", BOB), ("--account", "ci"), ("--account", "ci")):
        cli("keys.create", *owner)
    return cli_db


def key_of(cli: Cli, *owner: str) -> dict[str, object]:
    created: dict[str, object] = cli("keys.create", *owner, "--json").json
    return created


def test_a_leaked_key_is_traced_revoked_and_its_history_read(cli: Cli, office: Db) -> None:
    leaked = key_of(cli, "--account", "ci")
    raw = str(leaked["key"])
    whose = cli("keys.verify", "--json", stdin=raw + "\n").json
    assert (whose["key_id"], whose["owner"], whose["status"]) == (leaked["id"], "ci", "active")

    revoked = cli("keys.revoke", "--key-stdin", stdin=raw + "\n")
    assert revoked.stdout.startswith(f"revoked key {leaked['id']} (")
    assert raw not in revoked.stdout + revoked.stderr
    again = cli("keys.revoke", "--key-stdin", "--json", stdin=raw + "\n").json
    assert again["status"] == "unchanged"

    history = cli("audit.list", "--key", str(leaked["id"]), "--since", "30d", "--json").json
    assert [event["action"] for event in history] == ["key.revoke", "key.create"]
    cli("keys.verify", stdin=raw + "\n", expect=3)


def test_a_person_leaving_loses_every_key_in_one_command(cli: Cli, office: Db) -> None:
    cli("users.deactivate", BOB)
    before = snapshot(office)
    cli("--profile", "test", "keys.revoke", "--user", BOB, expect=5)  # test asks for --yes
    assert snapshot(office) == before
    done = cli("keys.revoke", "--user", BOB, "--yes", "--json").json
    assert [row["status"] for row in done] == ["revoked", "revoked"]
    assert cli("keys.revoke", "--user", BOB, "--yes", "--json").json == []
    assert cli("keys.list", "--user", BOB, "--json").json == []
    assert cli("keys.list", "--account", "ci", "--json").json  # nobody else's keys

    history = cli("audit.list", "--user", BOB, "--since", "90d", "--json").json
    actions = [event["action"] for event in history]
    assert actions.count("key.revoke") == 2
    assert "user.deactivate" in actions
    assert {event["subject"] for event in history} == {f"user:{BOB}"}


def test_the_trail_of_a_deleted_person_stays_readable(cli: Cli, office: Db) -> None:
    cli("users.delete", BOB, "--yes")
    history = cli("audit.list", "--user", BOB, "--json").json
    assert history[0]["action"] == "user.delete"
    assert {"user.create", "key.create"} <= {event["action"] for event in history}


def test_a_suspicious_actor_is_found_by_a_glob(cli: Cli, office: Db) -> None:
    cli.monkeypatch.setenv("APP_ACTOR", "cli:mallory@laptop-7")
    cli("keys.create", "--account", "ci")
    cli.monkeypatch.setenv("APP_ACTOR", "test-runner")
    found = cli("audit.list", "--actor", "cli:mallory@*", "--since", "7d", "--json").json
    assert [(event["actor"], event["action"]) for event in found] == [
        ("cli:mallory@laptop-7", "key.create")
    ]
    keys_today = cli("audit.list", "--action", "key.*", "--since", "1d", "--json").json
    assert len(keys_today) == 5
    assert cli("audit.list", "--until", "1d", "--json").json == []


def test_the_quarterly_review_finds_stale_and_expiring_keys_and_idle_users(
    cli: Cli, office: Db
) -> None:
    now = datetime.now(UTC)
    listed = cli("keys.list", "--json").json
    old, used, soon = (row["id"] for row in listed[:3])
    set_key_time(office, old, "created_at", now - timedelta(days=200))
    set_key_time(office, used, "created_at", now - timedelta(days=200))
    set_key_time(office, used, "last_used_at", now - timedelta(days=10))
    set_key_time(office, soon, "expires_at", now + timedelta(days=3))

    stale = cli("keys.list", "--unused-for", "90d", "--json").json
    assert [row["id"] for row in stale] == [old]
    assert {"last_used_at", "expires_at", "owner"} <= set(stale[0])
    expiring = cli("keys.list", "--expiring-within", "14d", "--json").json
    assert [row["id"] for row in expiring] == [soon]
    idle = cli("users.list", "--no-login-for", "90d", "--status", "active", "--json").json
    assert {row["email"] for row in idle} == {"admin@example.com", BOB}


def test_retention_prunes_old_events_and_dead_keys_and_records_it(cli: Cli, office: Db) -> None:
    dead = cli("keys.list", "--json").json[0]["id"]
    cli("keys.revoke", str(dead))
    set_key_time(office, dead, "revoked_at", datetime.now(UTC) - timedelta(days=120))
    gone = cli("keys.prune", "--before", "90d", "--yes", "--json").json
    assert gone["count"] == 1
    cli("keys.show", str(dead), expect=3)
    assert cli("audit.list", "--key", str(dead), "--json").json  # its events stay

    old_events = office.count("audit_events")
    office.rows("UPDATE audit_events SET occurred_at = :t", t=_stored(office, days=400))

    dry = cli("--dry", "audit.prune", "--before", "365d", "--yes", "--json").json
    assert (dry["count"], dry["dry_run"]) == (old_events, True)
    assert office.count("audit_events") == old_events
    pruned = cli("audit.prune", "--before", "365d", "--yes", "--json").json
    assert pruned["count"] == old_events
    (record,) = cli("audit.list", "--json").json
    assert record["action"] == "audit.prune"
    assert record["details"]["count"] == old_events
    assert cli("audit.prune", "--before", "0s", "--yes", "--json").json["count"] == 0  # kept


def test_pruning_a_protected_database_needs_the_override(cli: Cli, office: Db) -> None:
    cli.monkeypatch.setenv("APP_SECRET_KEY", "k" * 40)
    cli("--profile", "prod", "db.upgrade")
    before = snapshot(office)
    refused = cli("--profile", "prod", "audit.prune", "--before", "0s", "--yes", expect=5)
    assert "APP_ALLOW_DESTRUCTIVE=1" in refused.error_lines[0]
    assert snapshot(office) == before
    cli.monkeypatch.setenv("APP_ALLOW_DESTRUCTIVE", "1")
    cli("--profile", "prod", "audit.prune", "--before", "0s", "--yes")


def test_an_import_is_all_or_nothing_and_names_the_bad_line(
    cli: Cli, office: Db, tmp_path: Path
) -> None:
    file = tmp_path / "users.jsonl"
    file.write_text('{"email": "new@example.com"}\n{"email": "not an email"}\n')
    before = snapshot(office)
    failed = cli("users.import", str(file), expect=2)
    assert failed.error_lines == [
        "error: line 2: invalid email 'not an email': expected name@domain"
    ]
    assert snapshot(office) == before


def test_an_export_file_is_private_and_holds_no_hash_unless_asked(
    cli: Cli, office: Db, tmp_path: Path
) -> None:
    plain, hashed = tmp_path / "plain.jsonl", tmp_path / "hashed.jsonl"
    cli("users.export", "--output", str(plain))
    cli("users.export", "--output", str(hashed), "--with-password-hashes")
    assert plain.stat().st_mode & 0o777 == 0o600
    assert "$argon2id$" not in plain.read_text()
    assert hashed.read_text().count("$argon2id$") == 2
    assert "bk_" not in plain.read_text() + hashed.read_text()


def _stored(db: Db, *, days: int) -> object:
    when = datetime.now(UTC) - timedelta(days=days)
    if db.kind == "sqlite":
        return when.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return when
