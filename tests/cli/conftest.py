"""The CLI tests run on SQLite, on PostgreSQL, and on PostgreSQL through PgBouncer in
transaction pooling mode (as production often runs it): a plain URL must work through a pooler."""

from __future__ import annotations

import pytest

from tests.fixtures.lifecycle import target, using  # noqa: F401 (fixtures of the db lifecycle tests)

POOLED = pytest.param("pgbouncer", marks=[pytest.mark.postgres, pytest.mark.pgbouncer])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), POOLED])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
