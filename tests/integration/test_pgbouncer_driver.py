"""asyncpg through PgBouncer: the engine arguments that survive transaction pooling, for real.

Behind PgBouncer in transaction pooling mode a client's next transaction may run on another
server connection, and a server connection outlives its clients. asyncpg names the statements
it prepares ``__asyncpg_stmt_<n>__`` from a per-process counter and caches them, so a fresh
process finds ``__asyncpg_stmt_1__`` already prepared by an earlier one ("already exists"), and
a cached statement is missing on the next server connection ("does not exist"). Every scenario
runs with :func:`pooler_safe_engine_args` and, to show the scenario really catches the fault,
with settings that fail: asyncpg's defaults, ``?prepared_statement_cache_size=0`` alone, and
the recipe of SQLAlchemy's asyncpg documentation alone. Session pooling resets a server
connection (``DISCARD ALL``) for each client and works either way.

The module starts its own poolers; the transaction-mode one has two server connections, so that
clients really share them. Needs BACKEND_TEST_POSTGRES_URL and the ``pgbouncer`` binary (skipped
without either, unless BACKEND_TEST_PGBOUNCER_URL is set: then PgBouncer is expected and its
absence fails).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.fixtures.pgbouncer import PgBouncer, PgBouncerUnavailable, find_pgbouncer
from tests.fixtures.pgbouncer import start_pgbouncer as start_pooler

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKOUT = Path(__file__).resolve().parents[2]
PGBOUNCER_ENV = "BACKEND_TEST_PGBOUNCER_URL"
WAIT = 120.0  # seconds any one child process may take
STATEMENT_ERROR = re.compile(r'prepared statement "[^"]+" (already exists|does not exist)')


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


def asyncpg_url(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


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


CHILD = "from tests.integration.test_pgbouncer_driver import child_main; child_main()"


@dataclass
class Child:
    code: int
    stdout: str
    stderr: str


def spawn(*argv: str, barrier: bool = False) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", CHILD, *(["--barrier"] if barrier else []), *argv]
    process = subprocess.Popen(
        command,
        cwd=CHECKOUT,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if barrier:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line == "ready\n", f"a child did not get ready: {line!r}"
    return process


def finish(process: subprocess.Popen[str], deadline: float) -> Child:
    try:
        out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
        pytest.fail(f"a child hung and was killed:\n{out}{err}")
    return Child(process.returncode, out, err)


def describe(children: list[Child]) -> str:
    return "\n".join(f"[exit {c.code}] {c.stdout.strip()} {c.stderr.strip()}" for c in children)


def statement_errors(children: list[Child]) -> list[str]:
    return [c.stdout for c in children if c.code != 0 and STATEMENT_ERROR.search(c.stdout)]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pgbouncer_installed(pg_server: str) -> None:
    try:
        find_pgbouncer()
    except PgBouncerUnavailable as error:
        if os.environ.get(PGBOUNCER_ENV):
            pytest.fail(f"{PGBOUNCER_ENV} is set, but {error}", pytrace=False)
        pytest.skip(str(error))


async def _admin(server: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + server.split("://", 1)[1], timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server_db(pg_server: str, pgbouncer_installed: None) -> Iterator[str]:
    """A database of this module's own (server URL with it), with two enum types."""
    name = f"bt_pgb_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg_server, f'CREATE DATABASE "{name}"'))
    base = pg_server.split("://", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql://{base}/{name}"
    asyncio.run(
        _admin(
            url,
            "CREATE TYPE mood AS ENUM ('ok', 'sad')",
            "CREATE TYPE colour AS ENUM ('red', 'blue')",
        )
    )
    yield url
    asyncio.run(_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def poolers(server_db: str) -> Iterator[dict[str, PgBouncer]]:
    started: dict[str, PgBouncer] = {}
    # Two server connections make transaction-mode clients share them; a session holds its
    # server connection until the client leaves, so session mode needs one per client.
    try:
        for mode, size in (("transaction", 2), ("session", 10)):
            started[mode] = start_pooler(server_db, pool_mode=mode, pool_size=size)
        yield started
    finally:
        for pooler in started.values():
            pooler.stop()


@pytest.fixture
def pooled_url(request: pytest.FixtureRequest, poolers: dict[str, PgBouncer]) -> str:
    """The engine URL through the pooler of the test's ``mode`` parameter."""
    mode = request.node.callspec.params["mode"]
    return asyncpg_url(poolers[mode].url)


@pytest.fixture
def own_pooler(server_db: str) -> Iterator[str]:
    """A transaction pooler no other test has used: its server connections start empty."""
    with start_pooler(server_db, pool_mode="transaction", pool_size=2) as pooler:
        yield asyncpg_url(pooler.url)


# -- scenarios -------------------------------------------------------------------------------

FAILS = "fails"
WORKS = "works"


@pytest.mark.parametrize(
    ("mode", "config", "outcome"),
    [
        ("transaction", "cure", WORKS),
        ("transaction", "default", FAILS),
        ("transaction", "url-cache-0", FAILS),
        ("transaction", "documented", FAILS),
        ("session", "default", WORKS),
        ("session", "cure", WORKS),
    ],
)
def test_sequential_processes_of_short_transactions(
    pooled_url: str, mode: str, config: str, outcome: str
) -> None:
    """One CLI task after another: each a fresh process on server connections others used."""
    deadline = time.monotonic() + 4 * WAIT
    children = [finish(spawn("short", config, pooled_url), deadline) for _ in range(3)]

    if outcome == WORKS:
        assert [c.code for c in children] == [0, 0, 0], describe(children)
    else:
        assert statement_errors(children), describe(children)


@pytest.mark.parametrize(
    ("mode", "config", "outcome"),
    [
        ("transaction", "cure", WORKS),
        ("transaction", "default", FAILS),
        ("session", "cure", WORKS),
    ],
)
def test_concurrent_processes_locking_changing_schema_and_writing(
    pooled_url: str, server_db: str, mode: str, config: str, outcome: str
) -> None:
    """Ten migrations started at once: an advisory lock, DDL and DML in one transaction each."""
    table = f"locked_{mode}_{config}".replace("-", "_")
    processes: list[subprocess.Popen[str]] = []
    try:
        for i in range(10):
            processes.append(spawn("locked", config, pooled_url, table, f"p{i}", barrier=True))
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        deadline = time.monotonic() + WAIT
        children = [finish(process, deadline) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)

    if outcome == WORKS:
        assert [c.code for c in children] == [0] * 10, describe(children)
        rows = asyncio.run(_count(server_db, table))
        assert rows == 10
    else:
        assert statement_errors(children), describe(children)


async def _count(url: str, table: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("mode", "config", "variant", "outcome"),
    [
        ("transaction", "cure", "plain", WORKS),
        ("transaction", "cure", "pre-ping", WORKS),
        ("transaction", "cure", "enum", WORKS),
        ("transaction", "default", "plain", FAILS),
        # The documentation's recipe leaves asyncpg's own cache on: its pings and its type
        # lookups still use named statements.
        ("transaction", "documented", "pre-ping", FAILS),
        ("transaction", "documented", "enum", FAILS),
        ("session", "default", "plain", WORKS),
        ("session", "default", "pre-ping", WORKS),
        ("session", "default", "enum", WORKS),
        ("session", "cure", "plain", WORKS),
        ("session", "cure", "pre-ping", WORKS),
        ("session", "cure", "enum", WORKS),
    ],
)
async def test_a_parametrised_select_repeated_by_more_clients_than_server_connections(
    pooled_url: str, mode: str, config: str, variant: str, outcome: str
) -> None:
    if outcome == WORKS:
        await repeated_select(pooled_url, config, variant)
    else:
        with pytest.raises(Exception, match=STATEMENT_ERROR):
            await repeated_select(pooled_url, config, variant)


@pytest.mark.parametrize("config", ["cure", "cure+names"])
async def test_no_prepared_statement_is_left_on_the_server_connections(
    own_pooler: str, config: str
) -> None:
    """Unique statement names work, but each transaction leaves one behind on the server."""
    await repeated_select(own_pooler, config, "plain")

    left = await _statements_on_every_server_connection(own_pooler)

    if config == "cure":
        assert left == 0
    else:
        assert left > 0


async def _statements_on_every_server_connection(url: str) -> int:
    """Named statements prepared on the pooler's two server connections, both held at once."""
    engine = make_engine(url, "cure", poolclass=NullPool)
    try:
        async with engine.connect() as first, engine.connect() as second:
            counts = [
                await conn.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
                for conn in (first, second)
            ]
            pids = {await conn.scalar(text("SELECT pg_backend_pid()")) for conn in (first, second)}
            assert len(pids) == 2, "both server connections should be in use"
    finally:
        await engine.dispose()
    return sum(int(count or 0) for count in counts)
