"""The checkout's developer tasks: test, lint, fmt, typecheck, ci, dist and bench.

They run commands through ``c.run`` (so under ``--dry`` they only print them) and take their
commands from :mod:`devtools.ci`, so ``inv lint`` is exactly CI's lint. Only invoke and the
standard library are imported here: ``inv --list`` loads this module.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

PG_ENV = "BACKEND_TEST_POSTGRES_URL"


def _dry(c: Context) -> bool:
    """invoke's ``--dry``, or APP_DRY_RUN=1: either way nothing may run for real."""
    from backend.app.cli._session import dry_run_requested

    return dry_run_requested(c.config)


def _run(c: Context, argv: Sequence[str], *, env: dict[str, str] | None = None) -> int:
    """Run one command, shown as typed; its exit code (0 under a dry run, which only shows it)."""
    result = c.run(shlex.join(argv), echo=True, warn=True, pty=False, env=env or {}, dry=_dry(c))
    return 0 if result is None else int(result.exited)


def _steps(c: Context, *names: str) -> None:
    """Run CI's steps of these names, in order; stop at the first that fails, with its code."""
    from devtools import ci

    for name in names:
        code = _run(c, ci.step(name).command())
        if code != 0:
            raise Exit(code=code)


@task(
    help={
        "fast": 'skip the slow tests (pytest -m "not slow"): about 2 minutes',
        "k": "only the tests whose names match this pytest -k expression",
        "postgres": f"also test on this PostgreSQL server (sets {PG_ENV} for the run)",
        "path": "only these test files or folders (space-separated)",
    },
    auto_shortflags=False,
    name="test",
)
def run_tests(
    c: Context, fast: bool = False, k: str = "", postgres: str = "", path: str = ""
) -> None:
    """Run the tests (pytest): SQLite always, PostgreSQL too with --postgres URL."""
    from devtools import ci

    argv = ci.step("pytest").command()
    argv += [*(["-m", "not slow"] if fast else []), *(["-k", k] if k else [])]
    argv += shlex.split(path)
    code = _run(c, argv, env={PG_ENV: postgres} if postgres else None)
    if code != 0:
        raise Exit(code=code)


@task
def lint(c: Context) -> None:
    """Check lint and formatting (ruff check, ruff format --check), as CI does."""
    _steps(c, "ruff-check", "ruff-format")


@task
def fmt(c: Context) -> None:
    """Fix what ruff can (ruff check --fix), then format (ruff format)."""
    from devtools import ci

    # Fixes first: a fix (sorted imports, a removed one) can leave lines to reformat.
    fix = _run(c, [*ci.step("ruff-check").command(), "--fix"])
    formatted = _run(c, [ci.step("ruff-format").command()[0], "format", "."])
    if fix or formatted:
        raise Exit(code=fix or formatted)


@task
def typecheck(c: Context) -> None:
    """Check the types (mypy --strict, configured in pyproject.toml), as CI does."""
    _steps(c, "mypy")


@task
def dist(c: Context) -> None:
    """Build the sdist and wheel into dist/, install the wheel in a throwaway venv outside the
    checkout and run backendctl there against a temporary SQLite database."""
    _steps(c, "dist")


@task(
    help={
        "postgres": f"the PostgreSQL server the tests use (sets {PG_ENV}; required, as in CI)",
        "list": "print the steps and run none",
    },
    auto_shortflags=False,
)
def ci(c: Context, postgres: str = "", list: bool = False) -> None:
    """Run exactly what CI runs, in the same order (the steps of python -m devtools.ci)."""
    from devtools import ci as steps

    if list:
        steps.main(["--list"])
        return
    env = steps.ci_environ()
    if postgres:
        env[PG_ENV] = postgres
    problems = steps.preflight(env)
    if problems:
        raise Exit("\n".join(f"error: {problem}" for problem in problems), 2)
    code = steps.run_steps(steps.STEPS, env=env, dry=_dry(c))
    if code != 0:
        raise Exit(code=code)


@task(
    help={
        "quick": "a short run (about a minute): fewer repetitions, no 1M-key database",
        "only": "measure only these figures, comma-separated (e.g. P1,P4)",
        "json": "also write the results as JSON to this path",
        "explain": "also break P1-P3's commands down into imports and the rest",
    },
    auto_shortflags=False,
)
def bench(
    c: Context, quick: bool = False, only: str = "", json: str = "", explain: bool = False
) -> None:
    """Measure the performance targets P1-P6 side by side and print the table (python -m bench)."""
    if _dry(c):
        raise Exit("error: bench cannot be dry-run (it builds databases and runs commands)", 2)
    from bench.cli import main  # the benchmark only loads when it runs: `inv --list` stays fast

    argv = [*(["--quick"] if quick else []), *(["--explain"] if explain else [])]
    argv += [*(["--only", only] if only else []), *(["--json", json] if json else [])]
    if main(argv) != 0:
        raise Exit(code=1)


TASKS = (run_tests, lint, fmt, typecheck, ci, dist, bench)


def add_to(ns: Collection) -> Collection:
    """Add the developer tasks to the root collection (they sit beside the namespaces)."""
    for t in TASKS:
        ns.add_task(t)  # type: ignore[arg-type]
    return ns
