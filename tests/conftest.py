"""Fixtures: real SQLite files always, real PostgreSQL databases when a server is configured.

PostgreSQL runs when BACKEND_TEST_POSTGRES_URL names a server database the tests may create
databases from (e.g. postgresql://postgres@127.0.0.1:5432/test); without it those tests are
skipped, and the reason is shown. When it is set, the server must be reachable: a PostgreSQL
that was asked for but is down fails the run rather than skipping it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.databases import (  # the fixtures every test folder shares
    CHECKOUT,
    PG_ENV,
    SKIP_PG,
    backend,
    db,
    empty_db,
    pg_server,
    pg_server_url,
    pg_template,
    pgbouncer_address,
    sqlite_template,
)
from tests.support import Cli, Db

__all__ = ["backend", "db", "empty_db", "pg_server", "pg_template", "pgbouncer_address"]
__all__ += ["sqlite_template"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Skipped PostgreSQL tests, counted, with their reason once (not one line per test)."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED {count} tests: {reason}")


def pytest_report_header(config: pytest.Config) -> str:
    url = pg_server_url()
    return f"postgresql: {'server from ' + PG_ENV if url else 'not configured (' + SKIP_PG + ')'}"


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No APP_* variable and no ~/.invoke.yaml from the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith("APP_") or name.startswith("INVOKE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("APP_ACTOR", "test-runner")


# -- the project and the CLI -----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder like a checkout's (its invoke.yaml), and the cwd for the test."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copyfile(CHECKOUT / "invoke.yaml", root / "invoke.yaml")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def cli(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """The CLI, run in the project folder, with whatever database the test points it at."""
    return Cli(capsys, monkeypatch)


@pytest.fixture
def cli_db(cli: Cli, db: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    """A migrated database that the CLI uses (through APP_DATABASE_URL)."""
    monkeypatch.setenv("APP_DATABASE_URL", db.url)
    return db


@pytest.fixture
def cli_empty_db(cli: Cli, empty_db: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    """An empty database that the CLI uses (through APP_DATABASE_URL)."""
    monkeypatch.setenv("APP_DATABASE_URL", empty_db.url)
    return empty_db
