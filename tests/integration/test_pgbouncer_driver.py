"""asyncpg through PgBouncer: the engine arguments that survive transaction pooling, for real.

Behind PgBouncer in transaction pooling mode a client's next transaction may run on another
server connection, and a server connection outlives its clients. asyncpg names the statements
it prepares ``__asyncpg_stmt_<n>__`` from a per-process counter and caches them, so a fresh
process finds ``__asyncpg_stmt_1__`` already prepared by an earlier one ("already exists"), and
a cached statement is missing on the next server connection ("does not exist"). Every scenario
runs with ``pooler_safe_engine_args()`` (in ``pgbouncer_workloads.py``) and, to show the
scenario really catches the fault, with settings that fail: asyncpg's defaults,
``?prepared_statement_cache_size=0`` alone, and the recipe of SQLAlchemy's asyncpg documentation
alone. Session pooling resets a server connection (``DISCARD ALL``) for each client and works
either way.

The module starts its own poolers; the transaction-mode one has two server connections, so that
clients really share them. This module runs whole processes, one after another and at once;
``test_pgbouncer_driver_clients.py`` runs many clients in one process. Needs
BACKEND_TEST_POSTGRES_URL and the ``pgbouncer`` binary (skipped without either, unless
BACKEND_TEST_PGBOUNCER_URL is set: then PgBouncer is expected and its absence fails).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.pooled_driver import (
    pgbouncer_installed,
    pooled_url,
    poolers,
    server_db,
)
from tests.integration.pgbouncer_workloads import FAILS, STATEMENT_ERROR, WORKS

__all__ = ["pgbouncer_installed", "pooled_url", "poolers", "server_db"]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKOUT = Path(__file__).resolve().parents[2]
WAIT = 120.0  # seconds any one child process may take

CHILD = "from tests.integration.pgbouncer_workloads import child_main; child_main()"


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


# -- scenarios -------------------------------------------------------------------------------


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
