"""``Database.read_first``, the hot path of ``authenticate``: compiled once, run on the driver.

On PostgreSQL it runs on a few connections kept for reads (core.hot_path.Readers). These tests
pin what that must never lose: concurrent callers share at most POOL_SIZE connections and never
one at a time, a reader whose connection died or whose statement was interrupted is dropped
rather than handed on, a schema change does not break a statement held prepared, and the same
works through PgBouncer in transaction mode with the caches off (the default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.app.core.database import POOL_SIZE, Database
from backend.app.core.settings import build_settings
from backend.app.domain import AccountName
from backend.app.errors import DatabaseUnreachable
from backend.app.services import accounts, authn
from backend.app.services import keys as service
from backend.app.services.context import ServiceContext
from tests.fixtures import keys as keys_fixtures
from tests.support import Db

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db

CI = AccountName("ci")
POOLED = pytest.param("pgbouncer", marks=[pytest.mark.postgres, pytest.mark.pgbouncer])
DIRECT = pytest.param("postgresql", marks=pytest.mark.postgres)
CACHES = [pytest.param(False, id="cache-off"), pytest.param(True, id="cache-on")]


@pytest.fixture(params=["sqlite", DIRECT, POOLED])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _context(url: str, root: Path, **overrides: Any) -> ServiceContext:
    settings = build_settings(
        profile_values={}, root=root, overrides={"database_url": url, **overrides}
    )
    return ServiceContext(settings, Database(settings), "test-runner")


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    made: list[ServiceContext] = []

    def context(db: Db, **overrides: Any) -> ServiceContext:
        ctx = _context(db.url, tmp_path, **overrides)
        made.append(ctx)
        return ctx

    yield context
    for ctx in made:
        await ctx.database.finish()


def _readers_opened(ctx: ServiceContext) -> int:
    readers = ctx.database._readers
    return 0 if readers is None else readers.opened


@pytest.mark.parametrize("cache", CACHES)
async def test_many_concurrent_callers_share_a_few_connections_and_all_succeed(
    keys_db: Db, make: Any, backend: str, cache: bool
) -> None:
    if backend == "pgbouncer" and cache:
        pytest.skip("the statement cache is documented as off behind a transaction-mode pooler")
    ctx = make(keys_db, database_statement_cache=cache)
    await accounts.create_account(ctx, name=CI)
    issued = [await service.create_key(ctx, owner=CI) for _ in range(4)]
    for _ in range(2):  # the second round finds every statement already prepared
        found = await asyncio.wait_for(
            asyncio.gather(*(authn.authenticate(ctx, key.raw) for key in issued * 10)),
            timeout=30,
        )
        assert [p.key_id for p in found] == [key.key.id for key in issued * 10]
    if backend != "sqlite":
        assert 1 < _readers_opened(ctx) <= POOL_SIZE
        # Reads never hold a connection of the pool units of work use.
        assert ctx.database.engine().pool.checkedout() == 0


async def test_serial_lookups_of_unknown_keys_find_nothing_on_one_reader(
    keys_db: Db, make: Any
) -> None:
    from backend.app.repositories.keys import lookup_query

    ctx = make(keys_db)
    for _ in range(3):
        assert await ctx.database.read_first(lookup_query(), {"digest": "0" * 64}) is None
    assert _readers_opened(ctx) <= 1


@pytest.mark.parametrize("backend", [DIRECT])
@pytest.mark.parametrize("cache", CACHES)
async def test_a_reader_whose_connection_died_is_replaced_without_failing_a_call(
    keys_db: Db, make: Any, cache: bool
) -> None:
    ctx = make(keys_db, database_statement_cache=cache)
    await accounts.create_account(ctx, name=CI)
    issued = await service.create_key(ctx, owner=CI)
    await authn.authenticate(ctx, issued.raw)
    await _terminate(keys_db, _reader_pids(ctx))
    assert (await authn.authenticate(ctx, issued.raw)).key_id == issued.key.id
    assert _readers_opened(ctx) == 1
    await ctx.database.finish()
    with pytest.raises(DatabaseUnreachable):  # and an unreachable server is exit 6, as ever
        await authn.authenticate(make(Db(keys_db.kind, _unreachable(keys_db.url))), issued.raw)


@pytest.mark.parametrize("backend", [DIRECT, POOLED])
async def test_an_interrupted_read_drops_its_reader_and_the_next_one_works(
    keys_db: Db, make: Any
) -> None:
    ctx = make(keys_db, database_statement_cache=True)
    slow = select(func.pg_sleep(5).label("slept"))
    task = asyncio.create_task(ctx.database.read_first(slow, {}))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _readers_opened(ctx) == 0
    assert await ctx.database.read_first(select(func.now().label("now")), {}) is not None
    assert _readers_opened(ctx) == 1


@pytest.mark.parametrize("backend", [DIRECT])
async def test_a_statement_held_prepared_survives_a_schema_change(db: Db, make: Any) -> None:
    """With the cache on a reader keeps its statement prepared; a migration that changes a
    column it returns invalidates it, and the next lookup prepares it again."""
    ctx = make(db, database_statement_cache=True)
    await accounts.create_account(ctx, name=CI)
    issued = await service.create_key(ctx, owner=CI)
    await authn.authenticate(ctx, issued.raw)
    await _execute(db, "ALTER TABLE api_keys ALTER COLUMN display_prefix TYPE varchar(40)")
    assert (await authn.authenticate(ctx, issued.raw)).key_id == issued.key.id
    assert _readers_opened(ctx) == 1


def _unreachable(url: str) -> str:
    """The same URL on a port nothing listens on."""
    scheme, rest = url.split("://", 1)
    login, _, location = rest.rpartition("@")
    database = location.split("/", 1)[1]
    return f"{scheme}://{login}@127.0.0.1:1/{database}"


def _reader_pids(ctx: ServiceContext) -> list[int]:
    readers = ctx.database._readers
    assert readers is not None
    return [reader.driver.get_server_pid() for reader in readers._open]


async def _terminate(db: Db, pids: list[int]) -> None:
    await _execute(db, "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)


async def _execute(db: Db, sql: str, *args: Any) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + (db.inspect_url or db.url).split("://", 1)[1])
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()
