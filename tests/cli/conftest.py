"""The CLI tests run on SQLite and on PostgreSQL; those of the db.*, users.* and keys.* tasks and
of dry runs also run on PostgreSQL through PgBouncer in transaction pooling mode (as production
often runs it): a plain URL must work through a pooler.

The pooled variant stops there because it proves one thing, that every statement the tasks send
survives a pooler (no named prepared statement, no session state), and those modules send every
kind of statement there is: the rest (config, audit, the shells...) would run the same
statements again for a third of the suite's time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.lifecycle import target, using  # noqa: F401 (fixtures of the db lifecycle tests)

POOLED = pytest.param("pgbouncer", marks=[pytest.mark.postgres, pytest.mark.pgbouncer])


# The modules (name prefixes) whose tests also run through PgBouncer.
POOLED_MODULES = ("test_db_", "test_users", "test_keys", "test_dry_run", "test_found_from_outside")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the pooled variant of the tests outside POOLED_MODULES (reported as deselected)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        pooled = callspec is not None and callspec.params.get("backend") == "pgbouncer"
        in_cli = item.path.parent == Path(__file__).parent
        if pooled and in_cli and not item.path.name.startswith(POOLED_MODULES):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), POOLED])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
