"""Fixtures: real SQLite files always, real PostgreSQL databases when a server is configured.

PostgreSQL runs when BACKEND_TEST_POSTGRES_URL names a server database the tests may create
databases from (e.g. postgresql://postgres@127.0.0.1:5432/test); without it those tests are
skipped, and the reason is shown. When it is set, the server must be reachable: a PostgreSQL
that was asked for but is down fails the run rather than skipping it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.services import migrate
from tests.support import Cli, Db

PG_ENV = "BACKEND_TEST_POSTGRES_URL"
CHECKOUT = Path(__file__).resolve().parent.parent
SKIP_PG = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"


def pg_server_url() -> str | None:
    url = os.environ.get(PG_ENV, "").strip()
    return url or None


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _with_database(url: str, name: str) -> str:
    base = url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{name}"


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


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


# -- databases -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = pg_server_url()
    if url is None:
        pytest.skip(SKIP_PG)
    try:
        asyncio.run(_pg_admin(url, "SELECT 1"))
    except Exception as error:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {error!r}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite"
    migrate(f"sqlite+aiosqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"bt_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(pg_server, f'CREATE DATABASE "{name}"'))
    migrate(_with_database(pg_server, name), tmp_path_factory.mktemp("pg-template"))
    yield name
    asyncio.run(_pg_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fresh_pg(request: pytest.FixtureRequest, template: str | None) -> Db:
    server = request.getfixturevalue("pg_server")
    name = f"bt_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"{clause}'))
    request.addfinalizer(
        lambda: asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    )
    return Db("postgresql", _with_database(server, name))


@pytest.fixture
def empty_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """A database with nothing in it (for SQLite: a file that does not exist yet)."""
    if backend == "sqlite":
        return Db("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db' / 'app.sqlite'}")
    return _fresh_pg(request, None)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """A database migrated to head, stamped with the dev profile, with no rows."""
    if backend == "sqlite":
        return copy_of_sqlite_template(request, tmp_path)
    return _fresh_pg(request, request.getfixturevalue("pg_template"))


def copy_of_sqlite_template(request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    """A fresh copy of the migrated SQLite template, in the test's own folder."""
    template = request.getfixturevalue("sqlite_template")
    target = tmp_path / "db" / "app.sqlite"
    target.parent.mkdir()
    shutil.copyfile(template, target)
    return Db("sqlite", f"sqlite+aiosqlite:///{target}")


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
