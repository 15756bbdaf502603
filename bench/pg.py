"""PostgreSQL for the benchmark: the server to use, throwaway databases, fast seeding, PgBouncer.

The PostgreSQL figures run when ``BACKEND_TEST_POSTGRES_URL`` names a server database the bench
may create databases from (the same variable the tests read); without it they are reported as
skipped, with the reason. Every database the bench creates is named ``bench_<run>_<what>`` and
dropped before the figure returns, whatever happened.

Seeding goes through ``COPY`` (asyncpg's ``copy_records_to_table``): a million keys take seconds,
where Core executemany over the network takes minutes. The rows are the ones SQLite gets
(``bench.rows``), so the same keys authenticate on both engines.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.context import Bench
from bench.measure import child_env, run, venv_script
from bench.report import Result

if TYPE_CHECKING:
    import asyncpg

    from backend.app.core.settings import Settings

PG_ENV = "BACKEND_TEST_POSTGRES_URL"
SKIPPED = f"skipped: no PostgreSQL server ({PG_ENV} is not set)"
RUN = uuid.uuid4().hex[:8]


def server_url() -> str | None:
    url = os.environ.get(PG_ENV, "").strip()
    return url or None


def skipped(figure: str, whats: list[str], reason: str = SKIPPED) -> list[Result]:
    return [Result(figure, what, "-", reason, None) for what in whats]


def dsn(url: str, database: str | None = None) -> str:
    """A libpq-style URL (what asyncpg and PgBouncer take), on ``database`` if given."""
    rest = url.split("://", 1)[1]
    if database is not None:
        rest = rest.split("?", 1)[0].rsplit("/", 1)[0] + "/" + database
    return "postgresql://" + rest


def app_url(url: str, database: str | None = None) -> str:
    """The URL the application is given (``APP_DATABASE_URL``)."""
    return "postgresql+asyncpg://" + dsn(url, database).split("://", 1)[1]


def settings_for(bench: Bench, url: str, **overrides: Any) -> Settings:
    """Settings on ``url`` with the shipped defaults plus ``overrides``, whatever the shell says."""
    from backend.app.core.settings import build_settings

    return build_settings(
        profile_values={},
        root=bench.root,
        overrides={"database_url": url, **overrides},
        env_file=bench.work / "no.env",
    )


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn(url), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def admin(url: str, *statements: str) -> None:
    asyncio.run(_admin(url, *statements))


class Server:
    """The run's databases on one server: a migrated template, and copies of it."""

    def __init__(self, bench: Bench, url: str) -> None:
        self.bench = bench
        self.url = url
        self.created: list[str] = []
        self._template: str | None = None

    def name(self, what: str) -> str:
        return f"bench_{RUN}_{what}"

    def template(self) -> str:
        """An empty database at head, migrated by the real ``inv db.upgrade``."""
        if self._template is None:
            name = self.name("template")
            self.create(name)
            env = child_env({"APP_DATABASE_URL": app_url(self.url, name)})
            run([*venv_script("inv"), "db.upgrade"], cwd=self.bench.root, env=env)
            self._template = name
        return self._template

    def create(self, name: str, *, template: str | None = None) -> str:
        source = f' TEMPLATE "{template}"' if template else ""
        admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(self.url, f'CREATE DATABASE "{name}"{source}')
        self.created.append(name)
        return name

    def copy(self, what: str, source: str | None = None) -> str:
        """A new database ``what``: a copy of ``source``, or of the empty migrated template."""
        return self.create(self.name(what), template=source or self.template())

    def drop(self, name: str) -> None:
        admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.created)):
            self.drop(name)


@contextmanager
def server(bench: Bench, url: str) -> Iterator[Server]:
    """The run's databases on ``url``, all dropped on the way out."""
    found = Server(bench, url)
    try:
        yield found
    finally:
        found.drop_all()


@asynccontextmanager
async def connected(url: str, database: str) -> AsyncIterator[asyncpg.Connection]:
    import asyncpg

    conn = await asyncpg.connect(dsn(url, database), timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


# -- seeding ---------------------------------------------------------------------------------


USER_COLUMNS = (
    "id",
    "email",
    "name",
    "role",
    "is_active",
    "password_hash",
    "created_at",
    "updated_at",
    "password_changed_at",
)
KEY_COLUMNS = ("user_id", "digest", "display_prefix", "scopes", "created_at")


async def copy_users(conn: asyncpg.Connection, count: int, *, first_id: int = 1) -> None:
    from bench.rows import user_rows

    for batch in user_rows(count, first_id=first_id):
        records = [tuple(row[c] for c in USER_COLUMNS) for row in batch]
        await conn.copy_records_to_table("users", records=records, columns=USER_COLUMNS)
    await conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users")


async def copy_keys(
    conn: asyncpg.Connection,
    count: int,
    *,
    owners: int,
    settings: Settings,
    start: int = 0,
    owner_of: Any = None,
) -> None:
    """Keys ``start`` to ``start + count`` of the seeded numbering (``bench.rows.bench_key``)."""
    from bench.rows import key_rows

    for batch in key_rows(count, owners=owners, settings=settings, start=start, owner_of=owner_of):
        records = [
            tuple(json.dumps(row[c]) if c == "scopes" else row[c] for c in KEY_COLUMNS)
            for row in batch
        ]
        await conn.copy_records_to_table("api_keys", records=records, columns=KEY_COLUMNS)


async def analyze(conn: asyncpg.Connection) -> None:
    """Fresh statistics, as autovacuum would give a real database after a bulk load."""
    await conn.execute("ANALYZE")


# -- PgBouncer -------------------------------------------------------------------------------


@contextmanager
def pgbouncer(bench: Bench, url: str, *, pool_size: int) -> Iterator[str]:
    """A PgBouncer in transaction pooling mode in front of ``url``: its libpq URL."""
    from tests.fixtures.pgbouncer import start_pgbouncer

    pooler = start_pgbouncer(dsn(url), pool_mode="transaction", pool_size=pool_size)
    try:
        yield pooler.url
    finally:
        pooler.stop()


def pgbouncer_missing() -> str | None:
    """Why PgBouncer figures cannot run here, or None."""
    from tests.fixtures.pgbouncer import PgBouncerUnavailable, find_pgbouncer

    try:
        find_pgbouncer()
    except PgBouncerUnavailable as missing:
        return str(missing)
    return None


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
