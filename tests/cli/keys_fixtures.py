"""Helpers for the API key tests: owners, keys, and reading or moving key timestamps with SQL."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _pg_admin, _with_database
from tests.support import Cli, Db, Result

ACCOUNT = "ci"
USER = "dev@example.com"
PASSWORD_ENV = "KEYS_TEST_PASSWORD"
# What the key tests write; emptied between the tests that share one PostgreSQL database.
DATA_TABLES = ("api_keys", "audit_events", "users", "service_accounts")


@pytest.fixture(scope="session")
def keys_pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """One migrated PostgreSQL database for all key tests: emptying it is ~50x cheaper than
    creating one per test."""
    name = f"bt_keys_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _with_database(pg_server, name)
    asyncio.run(_pg_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def keys_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """Like conftest's ``db`` (migrated, no rows), reusing one database on PostgreSQL."""
    if backend == "sqlite":
        target = tmp_path / "db" / "app.sqlite"
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return Db("sqlite", f"sqlite+aiosqlite:///{target}")
    db = Db("postgresql", request.getfixturevalue("keys_pg_url"))
    db.rows(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
    return db


@pytest.fixture
def owners(cli: Cli, keys_db: Db) -> Db:
    """A migrated database the CLI uses, holding service account ``ci`` and user dev@example.com."""
    cli.monkeypatch.setenv("APP_DATABASE_URL", keys_db.url)
    cli.monkeypatch.setenv(PASSWORD_ENV, "a-long-enough-test-password")
    cli("accounts.create", ACCOUNT, "users.create", "--email", USER, "--password-env", PASSWORD_ENV)
    return keys_db


def snapshot(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    """Exactly what ``Db.dump()`` returns (every row of every table), read over one connection:
    the failing-command tests take dozens of these."""
    return asyncio.run(_snapshot(db))


async def _snapshot(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    if db.kind == "sqlite":
        tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        tables_sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    engine = create_async_engine(db.url)
    try:
        async with engine.begin() as conn:
            tables = sorted(row[0] for row in await conn.execute(text(tables_sql)))
            dumped = {}
            for table in tables:
                rows = [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table}"))]
                dumped[table] = sorted(rows, key=repr)
            return dumped
    finally:
        await engine.dispose()


def create_key(cli: Cli, *flags: str) -> dict[str, Any]:
    """``keys.create FLAGS --json`` (default owner: the account), returning its one object."""
    owner = () if {"--user", "--account"} & set(flags) else ("--account", ACCOUNT)
    data: dict[str, Any] = cli("keys.create", *owner, *flags, "--json").json
    return data


def verify(cli: Cli, key: str, *, expect: int = 0) -> Result:
    return cli("keys.verify", stdin=key + "\n", expect=expect)


def rejection(cli: Cli, key: str) -> str:
    """The reason ``keys.verify`` gives for a well-formed key it rejects (exit 3), which it
    says on stderr and in the JSON object it prints all the same."""
    result = cli("keys.verify", "--json", stdin=key + "\n", expect=3)
    assert len(result.error_lines) == 1, str(result)
    shown = result.json
    assert shown["valid"] is False, str(result)
    assert result.error_lines[0].startswith(f"error: API key rejected ({shown['reason']}): ")
    assert key not in result.stdout + result.stderr
    return str(shown["reason"])


# -- timestamps, read and written directly -------------------------------------------------------


def key_time(db: Db, key_id: int, column: str) -> datetime | None:
    """A timestamp column of one key, as an aware UTC datetime (SQLite stores naive text)."""
    value = db.scalar(f"SELECT {column} FROM api_keys WHERE id = :id", id=key_id)
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def set_key_time(db: Db, key_id: int, column: str, when: datetime | None) -> None:
    """Move a timestamp of one key with raw SQL, in the format the app stores it in."""
    value: Any = when
    if db.kind == "sqlite" and when is not None:
        value = (
            when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    db.rows(f"UPDATE api_keys SET {column} = :value WHERE id = :id", value=value, id=key_id)
    assert key_time(db, key_id, column) == (None if when is None else when.astimezone(UTC))


def audit_rows(db: Db) -> list[tuple[Any, ...]]:
    return db.rows("SELECT * FROM audit_events ORDER BY id")


def audit_actions(db: Db) -> list[str]:
    return [row[0] for row in db.rows("SELECT action FROM audit_events ORDER BY id")]


def anywhere_in(dump: dict[str, list[tuple[Any, ...]]], text: str) -> list[str]:
    """Where ``text`` occurs in a Db.dump(): every column of every row of every table."""
    return [
        f"{table}: {row!r}"
        for table, rows in dump.items()
        for row in rows
        if any(text in str(value) for value in row)
    ]
