"""Two processes creating the same user at the same moment: the database decides, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.users import given_user, reused_db
from tests.support import Db

db = reused_db

pytestmark = pytest.mark.slow

# Imports first, says it is ready, waits for "go" on stdin, then runs `python -m backend.app.cli
# ARGS`: without the barrier, start-up jitter (~0.3 s of imports) would often serialise the runs.
STARTER = """
import runpy, sys
import backend.app.cli.__main__, passlib.context, sqlalchemy.ext.asyncio
print("ready", file=sys.stderr, flush=True)
sys.stdin.readline()
sys.argv = ["backendctl", *sys.argv[1:]]
runpy.run_module("backend.app.cli", run_name="__main__", alter_sys=True)
"""
CHECKOUT = Path(__file__).resolve().parents[2]


def race(
    project: Path, db: Db, *argv: str, runners: int = 2
) -> list[subprocess.CompletedProcess[str]]:
    """Run the same command in ``runners`` processes, released at the same instant."""
    return race_commands(project, db, *([argv] * runners))


def race_commands(
    project: Path, db: Db, *commands: tuple[str, ...]
) -> list[subprocess.CompletedProcess[str]]:
    """Run each command in its own process; all are released at the same instant."""
    env = {
        **os.environ,
        "APP_DATABASE_URL": db.url,
        "PW": "correct-horse-battery-staple",
        "PYTHONPATH": str(CHECKOUT),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, *argv],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in commands
    ]
    for process in processes:
        assert process.stderr is not None
        assert process.stderr.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def describe(results: list[subprocess.CompletedProcess[str]]) -> str:
    return "\n".join(f"[exit {r.returncode}]\n{r.stdout}{r.stderr}" for r in results)


def count_users(db: Db, email: str) -> int:
    return int(db.scalar("SELECT count(*) FROM users WHERE email = :email", email=email))


def test_two_processes_creating_the_same_email_make_one_user_and_one_conflict(
    project: Path, db: Db
) -> None:
    results = race(
        project, db, "users.create", "--email", "same@example.com", "--password-env", "PW"
    )

    assert sorted(r.returncode for r in results) == [0, 4], describe(results)
    loser = next(r for r in results if r.returncode == 4)
    assert loser.stderr.splitlines()[-1] == "error: user same@example.com already exists"
    assert "Traceback" not in describe(results)
    assert count_users(db, "same@example.com") == 1
    assert db.count("audit_events") == 1


def test_two_processes_creating_the_same_email_if_not_exists_both_succeed(
    project: Path, db: Db
) -> None:
    results = race(
        project,
        db,
        "users.create",
        "--email",
        "same@example.com",
        "--password-env",
        "PW",
        "--if-not-exists",
        "--json",
    )

    assert [r.returncode for r in results] == [0, 0], describe(results)
    statuses = sorted(json.loads(r.stdout)["status"] for r in results)
    assert statuses == ["created", "unchanged"]
    assert count_users(db, "same@example.com") == 1
    assert db.count("audit_events") == 1


def test_two_processes_seeding_the_admin_make_one_admin(project: Path, db: Db) -> None:
    results = race(project, db, "users.seed-admin", "--json")

    assert [r.returncode for r in results] == [0, 0], describe(results)
    created = [json.loads(r.stdout) for r in results if '"created"' in r.stdout]
    assert len(created) == 1
    assert count_users(db, "admin@example.com") == 1
    assert db.count("audit_events") == 1


def test_two_processes_demoting_the_last_two_admins_leave_one_admin(project: Path, db: Db) -> None:
    given_user(db, "ann@example.com", role="admin")
    given_user(db, "bea@example.com", role="admin")

    results = race_commands(
        project,
        db,
        ("users.set-role", "ann@example.com", "member"),
        ("users.set-role", "bea@example.com", "member"),
    )

    assert sorted(r.returncode for r in results) == [0, 4], describe(results)
    assert "Traceback" not in describe(results)
    admins = db.rows("SELECT email FROM users WHERE role = 'admin'")
    assert len(admins) == 1
    assert db.count("audit_events") == 1
