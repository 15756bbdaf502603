"""Property-based sweep: every task the CLI lists, typed at with generated flag values.

Each case runs ``backendctl ARGV`` in-process against a seeded database and must end with a
documented exit code, no traceback, exactly one ``error:`` line when it fails (invoke's own parse
errors excepted: exit 1 with invoke's message), no secret printed, and, when it fails, the
database exactly as it was. See docs/hardening.md.

``SWEEP_EXAMPLES=25000 pytest tests/hardening/test_sweep.py`` runs a bigger sweep (default about
2,500 cases on SQLite); ``SWEEP_PG_EXAMPLES`` sizes the PostgreSQL one (default 340, when
BACKEND_TEST_POSTGRES_URL is set) and ``SWEEP_SEED=N`` explores other cases than the fixed seed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tests.alembic_project import copy_of_migrations
from tests.hardening.sweep import (
    STATS,
    SWEEP_ENV,
    Case,
    PostgresTarget,
    Seed,
    SqliteTarget,
    TaskSpec,
    cases,
    discover_tasks,
    environment,
    report,
    run_cli,
    seed,
    violations,
)

CHECKOUT = Path(__file__).resolve().parents[2]
TASKS = discover_tasks()
# Tasks whose output belongs to another program, so the contract (one JSON value, one error
# line, documented exit codes) cannot hold: each has its own tests in tests/cli/test_shells.py.
NOT_SWEPT = {
    "shell": "runs the Python it is given and exits with its status",
    "db.shell": "hands stdin and stdout to psql or sqlite3 and exits with their status",
}
# db.drop works on the sweep's database (tests/cli/test_db_lifecycle.py), but on PostgreSQL
# --force would cut the connection the sweep restores it through.
NOT_SWEPT_ON_POSTGRESQL = {**NOT_SWEPT, "db.drop": "would drop the database the sweep restores"}
SWEPT = [t for t in TASKS if t.name not in NOT_SWEPT]
SWEPT_ON_POSTGRESQL = [t for t in TASKS if t.name not in NOT_SWEPT_ON_POSTGRESQL]
SQLITE_EXAMPLES = int(os.environ.get("SWEEP_EXAMPLES", "2500"))
PG_EXAMPLES = int(os.environ.get("SWEEP_PG_EXAMPLES", "340"))
SEED = os.environ.get("SWEEP_SEED")

pytestmark = pytest.mark.slow


def pg_examples_per_task() -> int:
    return max(3, PG_EXAMPLES // len(SWEPT_ON_POSTGRESQL))


def examples_for(spec: TaskSpec) -> int:
    """The SQLite budget shared by the tasks, more to those with more arguments."""
    weights = {t.name: 2 + len(t.args) for t in SWEPT}
    return max(10, round(SQLITE_EXAMPLES * weights[spec.name] / sum(weights.values())))


def sweep_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


# -- fixtures -------------------------------------------------------------------------------------


def _isolated(folder: Path, url: str) -> dict[str, str | None]:
    """No APP_* or INVOKE_* variable of the machine, the sweep's own, and this database."""
    env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(("APP_", "INVOKE_"))
    }
    return {**env, "HOME": str(folder / "home"), **SWEEP_ENV, "APP_DATABASE_URL": url}


def _seed_through(project: Path, url: str) -> Seed:
    """Seed the database at ``url`` with the CLI, run in ``project`` under the sweep's env."""
    (project / "home").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CHECKOUT / "invoke.yaml", project / "invoke.yaml")
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with environment(_isolated(project, url)):
            return seed(run_cli)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def seeded_sqlite(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Seed]:
    """A migrated SQLite file with users, accounts and keys in every state, made once."""
    import sqlite3

    folder = tmp_path_factory.mktemp("sweep-seed")
    path = folder / "seeded.sqlite"
    shutil.copyfile(sqlite_template, path)
    made = _seed_through(folder / "project", f"sqlite+aiosqlite:///{path}")
    conn = sqlite3.connect(path)  # fold any WAL into the file: the template is one file
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert not path.with_name(path.name + "-wal").exists()
    return path, made


@dataclass(frozen=True)
class SeededPostgres:
    dsn: str  # the server, for asyncpg
    url: str  # the database the sweep runs against
    template: str  # the seeded database it is cloned from again after a change
    seed: Seed
    baseline: Any  # its snapshot right after seeding


@pytest.fixture(scope="module")
def seeded_pg(
    pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededPostgres]:
    """One seeded PostgreSQL database for the module, and a template to clone it back from."""
    import asyncio

    import asyncpg

    dsn = "postgresql://" + pg_server.split("://", 1)[1]
    name = f"bt_sweep_{uuid.uuid4().hex[:10]}"
    seeded = f"{name}_seeded"
    base = "postgresql+asyncpg://" + dsn.split("://", 1)[1].rsplit("/", 1)[0]

    async def admin(*statements: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{seeded}" TEMPLATE "{pg_template}"'))
    try:
        made = _seed_through(tmp_path_factory.mktemp("sweep-pg-seed"), f"{base}/{seeded}")
        asyncio.run(admin(f'CREATE DATABASE "{name}" TEMPLATE "{seeded}"'))
        probe = PostgresTarget(dsn, f"{base}/{name}", seeded, None)
        baseline = probe.snapshot()
        probe.close()
        yield SeededPostgres(dsn, f"{base}/{name}", seeded, made, baseline)
    finally:
        asyncio.run(
            admin(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'DROP DATABASE IF EXISTS "{seeded}" WITH (FORCE)',
            )
        )


@pytest.fixture
def sweep_project(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The project folder with the sweep's environment; returns its (copied) migrations/versions,
    so that a db.revision that succeeds writes there, not into the package."""
    for name, value in SWEEP_ENV.items():
        monkeypatch.setenv(name, value)
    return copy_of_migrations(project, tmp_path / "migrations")


# -- the sweep ------------------------------------------------------------------------------------


def migration_files(versions: Path) -> set[Path]:
    return {p for p in versions.iterdir() if p.name != "__pycache__"}


def sweep(
    target: SqliteTarget | PostgresTarget,
    strategy: st.SearchStrategy[Case],
    made: Seed,
    versions: Path,
    examples: int,
) -> None:
    shipped = migration_files(versions)
    started = time.perf_counter()

    def run(case: Case) -> None:
        with environment(dict(case.env)):
            result = run_cli(case.argv, case.stdin)
        bytes_same, content_same = target.state()
        found = violations(
            case,
            result,
            bytes_same=bytes_same,
            content_same=content_same,
            seed=made,
        )
        written = migration_files(versions) - shipped
        if written and result.code != 0:
            found.append(f"a failed run wrote {sorted(p.name for p in written)}")
        for path in written:  # a db.revision that worked: the next case starts at head again
            path.unlink()
        if not bytes_same:
            target.restore()
            STATS.restores[target.kind] += 1
        STATS.record(target.kind, case, result.code)
        assert not found, report(case, result, found)

    test = given(case=strategy)(run)
    test = sweep_settings(examples)(test)
    if SEED is not None:
        test = hypothesis_seed(int(SEED))(test)
    try:
        test()
    finally:
        spent = time.perf_counter() - started
        STATS.seconds[target.kind] = STATS.seconds.get(target.kind, 0.0) + spent


@pytest.mark.parametrize("spec", SWEPT, ids=[t.name for t in SWEPT])
def test_generated_input_never_breaks_the_contract_on_sqlite(
    spec: TaskSpec,
    seeded_sqlite: tuple[Path, Seed],
    sweep_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template, made = seeded_sqlite
    target = SqliteTarget(template, tmp_path / "sweep.sqlite")
    monkeypatch.setenv("APP_DATABASE_URL", target.url)
    sweep(target, cases(spec, made), made, sweep_project, examples_for(spec))


@pytest.mark.postgres
@pytest.mark.parametrize("spec", SWEPT_ON_POSTGRESQL, ids=[t.name for t in SWEPT_ON_POSTGRESQL])
def test_generated_input_never_breaks_the_contract_on_postgresql(
    spec: TaskSpec, seeded_pg: SeededPostgres, sweep_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = PostgresTarget(seeded_pg.dsn, seeded_pg.url, seeded_pg.template, seeded_pg.baseline)
    monkeypatch.setenv("APP_DATABASE_URL", seeded_pg.url)
    try:
        examples = pg_examples_per_task()
        sweep(target, cases(spec, seeded_pg.seed), seeded_pg.seed, sweep_project, examples)
    finally:
        target.close()


# -- the sweep covers what the CLI lists, and says how much it ran ---------------------------------


def listed_tasks(tree: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for task in tree["tasks"]:
        yield prefix + task["name"]
    for sub in tree["collections"]:
        yield from listed_tasks(sub, prefix + sub["name"] + ".")


def test_the_sweep_covers_every_task_the_cli_lists(project: Path) -> None:
    result = run_cli(["--list", "--list-format=json"])
    assert result.code == 0, result
    assert sorted(listed_tasks(json.loads(result.stdout))) == [t.name for t in TASKS]


def test_the_number_of_cases_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this module: prints how many cases ran (shown with -rA, and on the terminal)."""
    lines: Sequence[str] = STATS.summary()
    if not lines:
        pytest.skip("no sweep ran in this session (deselected)")
    for line in lines:
        print(line)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    planned = {
        "sqlite": sum(examples_for(t) for t in SWEPT),
        "postgresql": pg_examples_per_task() * len(SWEPT_ON_POSTGRESQL),
    }
    for engine, count in STATS.cases.items():
        if len(STATS.tasks[engine]) == len(
            SWEPT if engine == "sqlite" else SWEPT_ON_POSTGRESQL
        ):  # the whole sweep ran, not a -k selection
            assert count >= 0.9 * planned[engine], f"{engine}: {count} of {planned[engine]} ran"
