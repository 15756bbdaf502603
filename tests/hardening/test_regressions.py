"""What the property-based sweep (test_sweep.py) found, each pinned by one focused test."""

from __future__ import annotations

import pytest

from tests.support import Cli, Db

# The faults found so far are in input validation, before any engine-specific code runs.
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])


@ONLY_SQLITE
@pytest.mark.parametrize(
    "revision",
    ["@", "@head", "0001@", "head@", "a@@b", "base:0001@", ":", "base:", ":head", "a:b:c"],
)
@pytest.mark.parametrize(
    "argv",
    [
        ("db.stamp", "{}"),
        ("db.upgrade", "--revision", "{}"),
        ("db.upgrade", "--sql", "--revision", "{}"),
        ("db.downgrade", "--sql", "--revision", "{}"),
        ("db.downgrade", "--yes", "--revision", "{}"),
    ],
    ids=["stamp", "upgrade", "upgrade-sql", "downgrade-sql", "downgrade"],
)
def test_a_revision_with_an_empty_side_of_at_or_colon_is_invalid_input(
    cli: Cli, cli_db: Db, argv: tuple[str, ...], revision: str
) -> None:
    # They used to reach alembic, whose offline mode failed them with an AssertionError or a
    # ValueError: exit 1, "unexpected failure".
    before = cli_db.dump()
    result = cli(*(a.format(revision) for a in argv), expect=2)
    assert result.error_lines == [f"error: invalid revision {revision!r}"]
    assert cli_db.dump() == before
