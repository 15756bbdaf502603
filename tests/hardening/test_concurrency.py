"""Many real processes at once on the same targets, on SQLite and PostgreSQL; invariants after.

tests/integration/test_concurrent_create.py races two processes on one email (and the last two
admins); tests/integration/test_migrations.py races two upgrades in one process. These race
many processes, over overlapping targets, and check every row and every audit event after.
On SQLite every writer takes the lock at BEGIN (IMMEDIATE) and queues on the busy timeout, so
at the default timeout none of these short writes may fail with "database is locked".
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.alembic_project import packaged_head
from tests.hardening.processes import assert_clean_failure, cli_env, describe, race
from tests.hardening.rows import events
from tests.support import Cli, Db
from tests.support import Result as Run

pytestmark = pytest.mark.slow

PASSWORD_ENV = "HARDENING_PASSWORD"


def env_for(db: Db) -> dict[str, str]:
    return cli_env(db.url, **{PASSWORD_ENV: "correct-horse-battery-staple"})


def assert_no_failure_but_conflicts(runs: list[Run], allowed: set[int]) -> None:
    """Every run exits with an allowed code; each failure is one error line, no traceback, and
    none is SQLite's "database is locked" (writers queue on the busy timeout instead)."""
    text = describe(runs)
    assert {run.code for run in runs} <= allowed, text
    assert "Traceback" not in text
    assert "locked" not in text
    for run in runs:
        if run.code != 0:
            assert_clean_failure(run, run.code)


# -- creates of the same emails and names ---------------------------------------------------------

# Overlapping sets, in different spellings of the same normalised value.
EMAILS = [
    "ann@example.com",
    "ANN@example.com",
    "bob@example.com",
    "Bob@Example.COM",
    "ann@EXAMPLE.com",
]
NAMES = ["ci", "CI", "deploy", "ci", "Deploy"]


def test_many_processes_creating_the_same_emails_and_names_create_each_once(
    project: Path, db: Db
) -> None:
    commands = [
        ("users.create", "--email", email, "--password-env", PASSWORD_ENV, "--json")
        for email in EMAILS
    ] + [("accounts.create", name, "--json") for name in NAMES]

    runs = race(project, env_for(db), commands)

    assert_no_failure_but_conflicts(runs, {0, 4})
    for run in runs:
        if run.code == 4:
            assert run.error_lines[0].endswith(" already exists"), str(run)
    user_runs, account_runs = runs[: len(EMAILS)], runs[len(EMAILS) :]
    users = db.rows("SELECT id, email FROM users ORDER BY id")
    accounts = db.rows("SELECT id, name FROM service_accounts ORDER BY id")

    assert sorted(email for _, email in users) == ["ann@example.com", "bob@example.com"]
    assert sorted(name for _, name in accounts) == ["ci", "deploy"]
    created_users = [json.loads(run.stdout) for run in user_runs if run.code == 0]
    created_accounts = [json.loads(run.stdout) for run in account_runs if run.code == 0]
    assert sorted((u["id"], u["email"]) for u in created_users) == sorted(users)
    assert sorted((a["id"], a["name"]) for a in created_accounts) == sorted(accounts)
    # Exactly one event per created row, naming it; none for the conflicts.
    assert Counter(events(db, "user.create")) == Counter((str(i), e) for i, e in users)
    assert Counter(events(db, "account.create")) == Counter((str(i), n) for i, n in accounts)
    assert db.count("audit_events") == len(users) + len(accounts)


# -- rotate and revoke on the same keys -----------------------------------------------------------

GRACE = 1.0  # seconds


def given_keys(cli: Cli, db: Db, count: int) -> list[dict[str, Any]]:
    """Account ``ci`` and ``count`` keys without expiry, made through the CLI (raw keys known)."""
    cli.monkeypatch.setenv("APP_DATABASE_URL", db.url)
    argv = ["accounts.create", "ci", "--json"]
    for _ in range(count):
        argv += ["keys.create", "--account", "ci", "--no-expiry", "--json"]
    return [line for line in cli(*argv).json_lines if "key" in line]


def live_keys(db: Db, ids: list[int], now: datetime) -> list[int]:
    rows = db.rows("SELECT id, revoked_at, expires_at FROM api_keys ORDER BY id")
    return [
        key_id
        for key_id, revoked_at, expires_at in rows
        if key_id in ids and revoked_at is None and (expires_at is None or as_utc(expires_at) > now)
    ]


def as_utc(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_many_processes_rotating_and_revoking_the_same_keys_leave_one_live_key_per_chain(
    cli: Cli, project: Path, db: Db
) -> None:
    one, two, three = given_keys(cli, db, 3)
    rotate = ("keys.rotate", "--grace", f"{GRACE:.0f}s", "--json")
    revoke = ("keys.revoke", "--json")
    plan = [
        *[(one, rotate)] * 4,  # four rotations of one key: one wins
        *[(two, rotate)] * 2,  # rotations and revocations of the same key: either order holds
        *[(two, revoke)] * 2,
        *[(three, revoke)] * 2,  # revocations only: one revokes, the other is "unchanged"
    ]
    commands = [(action[0], str(key["id"]), *action[1:]) for key, action in plan]

    runs = race(project, env_for(db), commands)
    finished = datetime.now(UTC)

    assert_no_failure_but_conflicts(runs, {0, 4})
    outcome: Counter[tuple[int, str, str]] = Counter()
    new_keys: dict[int, dict[str, Any]] = {}
    for (key, action), run in zip(plan, runs, strict=True):
        if run.code == 4:
            assert action is rotate, str(run)
            line = run.error_lines[0]
            assert "was already rotated" in line or "it is revoked" in line, line
            outcome[key["id"], action[0], "conflict"] += 1
            continue
        data = json.loads(run.stdout)
        outcome[key["id"], action[0], data["status"]] += 1
        if action is rotate:
            assert data["replaces"] == key["id"]
            new_keys[key["id"]] = data

    # Exactly one rotation per key wins; at most one successor per key, whatever the order.
    assert outcome[one["id"], "keys.rotate", "rotated"] == 1, describe(runs)
    assert outcome[two["id"], "keys.rotate", "rotated"] <= 1, describe(runs)
    successors = db.rows(
        "SELECT rotated_from_id, count(*) FROM api_keys WHERE rotated_from_id IS NOT NULL "
        "GROUP BY rotated_from_id ORDER BY rotated_from_id"
    )
    assert successors == [(old, 1) for old in sorted(new_keys)]
    assert {old: data["id"] for old, data in new_keys.items()} == {
        old: db.scalar("SELECT id FROM api_keys WHERE rotated_from_id = :id", id=old)
        for old in new_keys
    }
    # Revoking is idempotent: exactly one change per key, the rest say "unchanged".
    for key in (two, three):
        assert outcome[key["id"], "keys.revoke", "revoked"] == 1, describe(runs)
    assert outcome[three["id"], "keys.revoke", "unchanged"] == 1

    # Every change has exactly one audit event, and nothing else wrote one.
    assert Counter(events(db, "key.rotate")) == Counter(
        (str(old), db.scalar("SELECT display_prefix FROM api_keys WHERE id = :id", id=old))
        for old in new_keys
    )
    assert Counter(target for target, _ in events(db, "key.revoke")) == Counter(
        [str(two["id"]), str(three["id"])]
    )
    raced = db.scalar("SELECT count(*) FROM audit_events WHERE action NOT LIKE '%.create'")
    assert raced == len(new_keys) + 2

    # After the grace: one live key per chain, none in a chain whose only key was revoked.
    time.sleep(max(0.0, GRACE - (datetime.now(UTC) - finished).total_seconds()) + 0.2)
    now = datetime.now(UTC)
    chains = {key["id"]: [key["id"]] for key in (one, two, three)}
    for old, data in new_keys.items():
        chains[old].append(data["id"])
    assert len(live_keys(db, chains[one["id"]], now)) == 1
    assert live_keys(db, chains[one["id"]], now) == [new_keys[one["id"]]["id"]]
    assert len(live_keys(db, chains[two["id"]], now)) == (1 if two["id"] in new_keys else 0)
    assert live_keys(db, chains[three["id"]], now) == []
    # And the keys themselves agree: the old key of a finished rotation no longer verifies.
    cli("keys.verify", stdin=one["key"] + "\n", expect=3)
    cli("keys.verify", stdin=new_keys[one["id"]]["key"] + "\n", expect=0)


# -- db.upgrade by several processes at once ------------------------------------------------------

UPGRADERS = 6
POOLED = pytest.param("pgbouncer", marks=[pytest.mark.postgres, pytest.mark.pgbouncer])


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), POOLED]
)
def test_several_processes_upgrading_an_empty_database_at_once_migrate_it_once(
    project: Path, empty_db: Db
) -> None:
    """PostgreSQL: the advisory lock serialises them; SQLite: BEGIN IMMEDIATE and the busy
    timeout (the file and its folder do not exist yet: every process races to create them)."""
    runs = race(project, env_for(empty_db), [("db.upgrade", "--json")] * UPGRADERS)

    assert_no_failure_but_conflicts(runs, {0})
    statuses = Counter(json.loads(run.stdout)["status"] for run in runs)
    assert statuses == {"upgraded": 1, "unchanged": UPGRADERS - 1}, describe(runs)
    head = packaged_head()
    assert all(json.loads(run.stdout)["to"] == [head] for run in runs)
    assert empty_db.rows("SELECT version_num FROM alembic_version") == [(head,)]
    assert dict(empty_db.rows("SELECT key, value FROM app_meta"))["profile"] == "dev"
