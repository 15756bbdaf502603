"""asyncpg through PgBouncer, many clients of one process: one parametrised SELECT repeated by
more clients than the pooler has server connections (pushed from one server connection to the
other, with pre-ping, with enum types asyncpg looks up itself), and what the cure leaves behind
on the server connections: nothing, where unique statement names leave one per transaction.

Why each configuration fails or works is told in ``test_pgbouncer_driver.py``. Needs
BACKEND_TEST_POSTGRES_URL and the ``pgbouncer`` binary, as that module does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from tests.fixtures.pooled_driver import (
    own_pooler,
    pgbouncer_installed,
    pooled_url,
    poolers,
    server_db,
)
from tests.integration.pgbouncer_workloads import (
    FAILS,
    STATEMENT_ERROR,
    WORKS,
    make_engine,
    repeated_select,
)

__all__ = ["own_pooler", "pgbouncer_installed", "pooled_url", "poolers", "server_db"]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


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
