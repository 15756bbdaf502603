"""What the asyncpg-through-PgBouncer tests run: the engine configurations compared (the cure,
:func:`pooler_safe_engine_args`, and the settings that fail), and the workloads, run in child
processes (:func:`child_main`) or in the test's own.

Shared by ``test_pgbouncer_driver.py`` (processes) and ``test_pgbouncer_driver_clients.py``
(clients of one process).
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

STATEMENT_ERROR = re.compile(r'prepared statement "[^"]+" (already exists|does not exist)')
FAILS = "fails"
WORKS = "works"


def pooler_safe_engine_args() -> dict[str, Any]:
    """``create_async_engine`` keyword arguments for asyncpg behind a transaction-mode pooler.

    With asyncpg's own cache off, every statement is prepared unnamed and parsed again in the
    same round trip as its execution, so no name can collide and nothing needs to survive a
    switch of server connection. SQLAlchemy's cache must be off as well: it would keep those
    unnamed statements with their result types, and decode a column whose type another process
    changed with the old codec, silently. No ``prepared_statement_name_func``: asyncpg closes a
    named statement only when preparing the next one, which is often in the next transaction on
    another server connection, so every transaction would leave one statement behind on a
    server connection until PgBouncer closes it.
    """
    return {"connect_args": {"statement_cache_size": 0, "prepared_statement_cache_size": 0}}


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


# name -> (URL query, create_async_engine keyword arguments)
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "cure": ("", pooler_safe_engine_args()),
    "default": ("", {}),
    "url-cache-0": ("?prepared_statement_cache_size=0", {}),
    # SQLAlchemy's "Prepared Statement Name with PGBouncer" recipe, without statement_cache_size
    "documented": (
        "",
        {
            "connect_args": {
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": _unique_statement_name,
            }
        },
    ),
    "cure+names": (
        "",
        {
            "connect_args": {
                **pooler_safe_engine_args()["connect_args"],
                "prepared_statement_name_func": _unique_statement_name,
            }
        },
    ),
}


def make_engine(url: str, config: str, **extra: Any) -> AsyncEngine:
    query, kwargs = CONFIGS[config]
    args = {**kwargs, "connect_args": dict(kwargs.get("connect_args", {})), **extra}
    return create_async_engine(url + query, **args)


# -- the workloads (run in child processes, or in the test's own) ------------------------------


async def short_transactions(url: str, config: str) -> None:
    """Sequential short transactions on reused pooled connections, then on fresh ones."""
    engine = make_engine(url, config, pool_size=2)
    try:
        for i in range(15):
            async with engine.begin() as conn:
                assert (await conn.scalar(text("SELECT CAST(:i AS int) + 1"), {"i": i})) == i + 1
                await conn.execute(
                    text("SELECT count(*) FROM pg_class WHERE relname LIKE :p"), {"p": "pg_%"}
                )
                await conn.execute(text("SELECT now()"))
                # A type asyncpg looks up with its own query, not through SQLAlchemy's prepare.
                assert (await conn.scalar(text("SELECT CAST(:m AS mood)"), {"m": "ok"})) == "ok"
    finally:
        await engine.dispose()
    for i in range(3):
        fresh = make_engine(url, config, poolclass=NullPool)
        try:
            for _ in range(2):
                async with fresh.begin() as conn:
                    assert (await conn.scalar(text("SELECT CAST(:i AS int)"), {"i": i})) == i
        finally:
            await fresh.dispose()


async def locked_change(url: str, config: str, table: str, who: str) -> None:
    """One transaction as a migration runs it: a lock, DDL, then DML."""
    engine = make_engine(url, config)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(1)"))
            await conn.execute(
                text(f'CREATE TABLE IF NOT EXISTS "{table}" (id serial PRIMARY KEY, who text)')
            )
            await conn.execute(text(f'INSERT INTO "{table}" (who) VALUES (:who)'), {"who": who})
            mine = await conn.scalar(
                text(f'SELECT count(*) FROM "{table}" WHERE who = :who'), {"who": who}
            )
            assert mine == 1
    finally:
        await engine.dispose()


async def repeated_select(url: str, config: str, variant: str) -> None:
    """One parametrised SELECT, many times: first a client pushed from one server connection to
    the other on purpose, then more clients at once than there are server connections.
    """
    engine = make_engine(url, config, pool_size=8, pool_pre_ping=variant == "pre-ping")
    # A client of its own: its connection stays busy while the first client runs again.
    blocker = make_engine(url, config, pool_size=1)

    async def select(conn: AsyncConnection, i: int, k: int) -> None:
        if variant == "enum":
            # Each new type is looked up by asyncpg's own query, not through SQLAlchemy.
            kind, value = (("mood", "ok"), ("colour", "red"))[i % 2]
            got = await conn.scalar(text(f"SELECT CAST(:v AS {kind})"), {"v": value})
            assert got == value
        else:
            statement = text("SELECT CAST(:a AS int) * 2, CAST(:b AS text)")
            row = (await conn.execute(statement, {"a": i, "b": f"c{k}"})).one()
            assert tuple(row) == (i * 2, f"c{k}")
        await conn.commit()

    async def client(k: int) -> None:
        for i in range(25):
            async with engine.connect() as conn:
                await select(conn, i, k)

    try:
        for i in range(6):
            # The blocker holds one server connection, so the client runs on the other; then,
            # unblocked, on the one released last (PgBouncer reuses that first): the client
            # changes server connection at every step, including its pre-ping at checkout.
            async with blocker.begin() as held:
                await held.execute(text("SELECT 1"))
                async with engine.connect() as conn:
                    await select(conn, 2 * i, 0)
            async with engine.connect() as conn:
                await select(conn, 2 * i + 1, 0)
        try:
            async with asyncio.TaskGroup() as group:
                for k in range(8):
                    group.create_task(client(k))
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from errors
    finally:
        await blocker.dispose()
        await engine.dispose()


def child_main() -> None:
    """A child process: ``WORKLOAD CONFIG URL [ARGS...]``, optionally after a barrier."""
    argv = sys.argv[1:]
    barrier = argv[0] == "--barrier"
    workload, config, url, *rest = argv[1:] if barrier else argv
    if barrier:
        print("ready", file=sys.stderr, flush=True)
        sys.stdin.readline()
    try:
        if workload == "short":
            asyncio.run(short_transactions(url, config))
        else:
            asyncio.run(locked_change(url, config, *rest))
    except Exception as error:
        print(f"{type(error).__name__}: {str(error).splitlines()[0]}")
        sys.exit(1)
