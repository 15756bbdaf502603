"""What the property-based sweep (test_sweep.py) found, each pinned by one focused test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alembic_project import copy_of_migrations
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


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (
            "C:\\Users\\x",
            'error: --message cannot contain a backslash or """ (it becomes a docstring)',
        ),
        ("\\N", 'error: --message cannot contain a backslash or """ (it becomes a docstring)'),
        (
            'say """hi',
            'error: --message cannot contain a backslash or """ (it becomes a docstring)',
        ),
        ("\u202eabc", "error: --message must be 1 to 200 printable characters"),
        ("\udcff", "error: --message must be 1 to 200 printable characters"),
        ("x\x7f", "error: --message must be 1 to 200 printable characters"),
    ],
)
def test_a_revision_message_that_would_break_the_migration_file_is_refused(
    cli: Cli, project: Path, tmp_path: Path, message: str, error: str
) -> None:
    # A backslash escape or a triple quote in the docstring made alembic write a file that does
    # not compile (exit 1, "unexpected failure (SyntaxError)"), and every later command failed
    # on it. An RTL override or a lone surrogate was written into the source, or failed rendering.
    versions = copy_of_migrations(project, tmp_path / "migrations")
    before = sorted(versions.iterdir())
    result = cli("db.revision", "--message", message, expect=2)
    assert result.error_lines == [error]
    assert sorted(versions.iterdir()) == before
    assert cli("db.history", "--json").json  # the migrations still load


def test_a_revision_message_with_quotes_and_unicode_still_works(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    copy_of_migrations(project, tmp_path / "migrations")
    data = cli("db.revision", "--message", 'rename "users" → people', "--json").json
    assert cli("db.history", "--json").json[0]["message"].startswith('rename "users" → people')
    assert data["status"] == "created"
