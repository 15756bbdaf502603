"""SQLite's hot reads run on the event loop's thread while SQLite need not wait, and on
aiosqlite's thread when it would: ``authenticate`` then waits within the busy timeout without
holding up the loop. Real files, a real lock held by another connection."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.app.core.database import Database
from backend.app.core.settings import build_settings
from backend.app.core.sqlite_inline import InlineReader
from backend.app.domain import AccountName
from backend.app.errors import DatabaseUnreachable, KeyRejected
from backend.app.repositories.keys import lookup_query
from backend.app.services import accounts, authn, revocation
from backend.app.services import keys as service
from backend.app.services.context import ServiceContext
from tests.fixtures import keys as keys_fixtures
from tests.support import Db

keys_db = keys_fixtures.keys_db
CI = AccountName("ci")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def ctx(keys_db: Db, tmp_path: Path) -> AsyncIterator[ServiceContext]:
    settings = build_settings(
        profile_values={},
        root=tmp_path,
        overrides={"database_url": keys_db.url, "database_busy_timeout_ms": 1_500},
    )
    context = ServiceContext(settings, Database(settings), "test-runner")
    yield context
    await context.database.finish()


def sqlite_file(db: Db) -> Path:
    return Path(db.url.removeprefix("sqlite+aiosqlite:///"))


def in_rollback_journal_mode(db: Db) -> None:
    """The file in SQLite's rollback-journal mode, where a writer's exclusive lock keeps readers
    out (in WAL mode readers never wait for writers, so nothing else makes a lookup busy)."""
    with sqlite3.connect(sqlite_file(db)) as connection:
        assert connection.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    connection.close()


async def key_used_once(ctx: ServiceContext) -> Any:
    """A new key of account ``ci``, its first use recorded: later lookups only read."""
    await accounts.create_account(ctx, name=CI)
    issued = await service.create_key(ctx, owner=CI)
    await authn.authenticate(ctx, issued.raw)
    return issued


async def locked_after_first_use(ctx: ServiceContext, db: Db) -> tuple[Any, sqlite3.Connection]:
    """A key used once, then, in rollback-journal mode, another connection holding the
    exclusive lock (as a writer does while it commits): lookups are busy until it lets go."""
    in_rollback_journal_mode(db)
    issued = await key_used_once(ctx)
    holder = sqlite3.connect(sqlite_file(db), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return issued, holder


async def test_a_lookup_runs_inline_and_finds_what_the_thread_finds(
    ctx: ServiceContext, keys_db: Db
) -> None:
    await accounts.create_account(ctx, name=CI)
    issued = await service.create_key(ctx, owner=CI)
    inline = ctx.database._inline
    assert isinstance(inline, InlineReader)
    principal = await authn.authenticate(ctx, issued.raw)
    assert principal.key_id == issued.key.id
    assert inline._connection is not None  # the lookup ran on it
    assert ctx.database._reader is None  # and never on aiosqlite's thread
    wanted = {"digest": issued.key.digest}
    row = await ctx.database.read_first(lookup_query(), wanted)
    async with ctx.database._reader_lock:
        prepared = ctx.database._prepared[lookup_query()]
        threaded = await ctx.database._read_first_sqlite(prepared, wanted)
    assert row == threaded
    assert row is not None
    assert row["id"] == issued.key.id


async def test_a_lookup_sees_what_another_connection_committed(
    ctx: ServiceContext, keys_db: Db
) -> None:
    issued = await key_used_once(ctx)
    await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    with pytest.raises(KeyRejected) as rejected:
        await authn.authenticate(ctx, issued.raw)
    assert rejected.value.reason == "revoked"


async def test_a_busy_database_is_read_on_the_thread_and_the_loop_goes_on(
    ctx: ServiceContext, keys_db: Db
) -> None:
    issued, holder = await locked_after_first_use(ctx, keys_db)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def release_soon() -> None:
        await asyncio.sleep(0.3)
        holder.execute("ROLLBACK")
        holder.close()

    ticking = asyncio.create_task(ticker())
    releasing = asyncio.create_task(release_soon())
    started = time.monotonic()
    principal = await authn.authenticate(ctx, issued.raw)
    waited = time.monotonic() - started
    ticking.cancel()
    await releasing
    assert principal.key_id == issued.key.id
    assert waited >= 0.25  # it waited for the lock...
    assert ticks >= 10  # ...on aiosqlite's thread, while the loop went on
    assert ctx.database._reader is not None


async def test_a_database_busy_past_the_timeout_is_the_usual_busy_error(
    ctx: ServiceContext, keys_db: Db
) -> None:
    issued, holder = await locked_after_first_use(ctx, keys_db)
    try:
        with pytest.raises(DatabaseUnreachable, match="stayed locked past the busy timeout"):
            await authn.authenticate(ctx, issued.raw)
    finally:
        holder.close()


def test_the_inline_reader_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.sqlite"
    reader = InlineReader(missing)
    assert reader.fetchall("SELECT 1", []) is None
    assert not missing.exists()


def test_the_inline_reader_refuses_to_write(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    reader = InlineReader(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.fetchall("INSERT INTO t VALUES (1)", [])
    reader.close()
