"""Helpers for the users, accounts and audit tests: making rows, reading the audit trail."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from passlib.hash import argon2

from tests.conftest import _pg_admin, _with_database, copy_of_sqlite_template
from tests.support import Cli, Db, Result

PASSWORD_ENV = "TEST_USER_PASSWORD"
PASSWORD = "correct-horse-battery-staple"
# The tables these tests write to; emptied between tests that share one PostgreSQL database.
DATA_TABLES = ("api_keys", "audit_events", "users", "service_accounts")


# -- a migrated database, cheaper on PostgreSQL ------------------------------------------------


_SHARED_PG_URL = pytest.StashKey[str]()


def _shared_pg_url(request: pytest.FixtureRequest) -> str:
    """One PostgreSQL database (a copy of the migrated template) for every test that reuses it.

    CREATE DATABASE costs ~0.3 s here; emptying the data tables costs a few milliseconds.
    """
    stash = request.config.stash
    if _SHARED_PG_URL not in stash:
        server = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        name = f"bt_users_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        request.config.add_cleanup(
            lambda: asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        )
        stash[_SHARED_PG_URL] = _with_database(server, name)
    return stash[_SHARED_PG_URL]


@pytest.fixture
def reused_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """Like conftest's ``db`` (migrated, stamped dev, no rows), but PostgreSQL reuses one database.

    A test module opts in with ``db = reused_db``; its tests must leave the schema at head.
    """
    if backend == "sqlite":
        return copy_of_sqlite_template(request, tmp_path)
    db = Db("postgresql", _shared_pg_url(request))
    # DELETE, not TRUNCATE: on a few rows it is ~10x cheaper (TRUNCATE swaps every file).
    asyncio.run(_execute(db, *(f"DELETE FROM {table}" for table in DATA_TABLES)))
    return db


async def _execute(db: Db, *statements: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(db.url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def create_user(
    cli: Cli,
    email: str,
    *extra: str,
    role: str = "member",
    password: str = PASSWORD,
) -> dict[str, Any]:
    """Create a user through the CLI (password from the environment) and return its JSON."""
    cli.monkeypatch.setenv(PASSWORD_ENV, password)
    result = cli(
        "users.create",
        "--email",
        email,
        "--role",
        role,
        "--password-env",
        PASSWORD_ENV,
        "--json",
        *extra,
    )
    data: dict[str, Any] = result.json
    return data


@functools.cache
def argon2id_hash(password: str) -> str:
    """A hash like the application's (its default cost), computed once per password per run."""
    hashed: str = argon2.using(type="ID", memory_cost=19_456, rounds=2, parallelism=1).hash(
        password
    )
    return hashed


def given_user(
    db: Db,
    email: str,
    *,
    role: str = "member",
    active: bool = True,
    name: str | None = None,
    password: str = PASSWORD,
) -> int:
    """A user row put straight into the database: set-up for a test of another task (no event)."""
    rows = db.rows(
        "INSERT INTO users (email, name, role, is_active, password_hash, created_at, updated_at, "
        "password_changed_at) VALUES (:email, :name, :role, :active, :hash, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        email=email,
        name=name,
        role=role,
        active=active,
        hash=argon2id_hash(password),
    )
    return int(rows[0][0])


def create_account(cli: Cli, name: str, *extra: str) -> dict[str, Any]:
    data: dict[str, Any] = cli("accounts.create", name, "--json", *extra).json
    return data


def snapshot(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each of our tables, like ``Db.dump()`` but on one connection (it runs often)."""
    return asyncio.run(_snapshot(db))


async def _snapshot(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from backend.app.models import Base

    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            dumped = {}
            for table in sorted([*Base.metadata.tables, "alembic_version"]):
                rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
                dumped[table] = sorted((tuple(row) for row in rows), key=repr)
            return dumped
    finally:
        await engine.dispose()


def fails_without_change(
    cli: Cli, db: Db, *argv: str, expect: int, stdin: str | None = None
) -> Result:
    """Run a command that must fail: one error line, and not one row changed (audit included)."""
    before = snapshot(db)
    result = cli(*argv, stdin=stdin, expect=expect)
    assert len(result.error_lines) == 1, str(result)
    assert result.stdout == "", str(result)
    assert snapshot(db) == before
    return result


def unchanged(cli: Cli, db: Db, *argv: str) -> Result:
    """Run a command that must succeed, say unchanged, and write nothing (no audit event)."""
    before = snapshot(db)
    result = cli(*argv)
    assert "unchanged" in result.stdout, str(result)
    assert snapshot(db) == before
    return result


def use_test_profile(cli: Cli) -> None:
    """The shipped `test` profile (destructive tasks need --yes); the database stays the test's."""
    cli.monkeypatch.setenv("APP_PROFILE", "test")


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def audit_events(db: Db) -> list[dict[str, Any]]:
    """Every audit event, oldest first, with ``details`` decoded."""
    rows = db.rows(
        "SELECT id, actor, action, target_type, target_id, target, details "
        "FROM audit_events ORDER BY id"
    )
    keys = ("id", "actor", "action", "target_type", "target_id", "target", "details")
    events = [dict(zip(keys, row, strict=True)) for row in rows]
    for event in events:
        event["details"] = _decoded(event["details"])
    return events


def actions(db: Db) -> list[str]:
    return [event["action"] for event in audit_events(db)]


def user_row(db: Db, email: str) -> dict[str, Any]:
    keys = ("id", "email", "name", "role", "is_active", "password_hash", "password_changed_at")
    rows = db.rows(f"SELECT {', '.join(keys)} FROM users WHERE email = :email", email=email)
    assert len(rows) == 1, f"expected one user {email}, found {len(rows)}"
    row = dict(zip(keys, rows[0], strict=True))
    row["is_active"] = bool(row["is_active"])
    return row


def emails(db: Db) -> list[str]:
    return [row[0] for row in db.rows("SELECT email FROM users ORDER BY id")]


def add_api_key(
    db: Db,
    *,
    user_id: int | None = None,
    account_id: int | None = None,
    revoked: bool = False,
    expires: str | None = None,
) -> None:
    """An api_keys row made directly (the keys tasks are another namespace's business).

    ``expires`` is a UTC timestamp literal such as ``'2000-01-01 00:00:00'``.
    """
    revoked_at = "CURRENT_TIMESTAMP" if revoked else "NULL"
    expires_at = f"'{expires}'" if expires else "NULL"
    db.rows(
        "INSERT INTO api_keys (user_id, service_account_id, digest, display_prefix, scopes, "
        f"created_at, revoked_at, expires_at) VALUES (:user_id, :account_id, :digest, :prefix, "
        f"'[]', CURRENT_TIMESTAMP, {revoked_at}, {expires_at})",
        user_id=user_id,
        account_id=account_id,
        digest=secrets.token_hex(32),
        prefix="bk_" + secrets.token_hex(3),
    )


def api_key_owners(db: Db) -> list[tuple[int | None, int | None]]:
    rows = db.rows("SELECT user_id, service_account_id FROM api_keys ORDER BY id")
    return [(row[0], row[1]) for row in rows]


def verifies(password: str, stored_hash: str) -> bool:
    """Check a stored hash with passlib directly, not through the application's hasher."""
    return bool(argon2.verify(password, stored_hash))


def only(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: mapping[key] for key in keys}
