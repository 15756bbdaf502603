"""`inv ci` and `.ci/run` run one list of steps; under --dry the developer tasks only echo."""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.program import Program

from devtools import ci
from tests.fixtures.databases import CHECKOUT

PG = "postgresql://postgres@127.0.0.1:1/nowhere"


def inv(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`inv` itself, in process, on the checkout's tasks.py."""
    capsys.readouterr()
    try:
        Program(binary="inv").run(["inv", "--search-root", str(CHECKOUT), *argv], exit=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def echoed(out: str) -> list[list[str]]:
    """The commands invoke echoed (bold) under --dry, split as the shell would."""
    return [
        shlex.split(line.replace("\x1b[1;37m", "").replace("\x1b[0m", ""))
        for line in out.splitlines()
    ]


@pytest.fixture
def ci_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """What .ci/run provides: a PostgreSQL server and a PgBouncer (never reached under --dry)."""
    monkeypatch.setenv(ci.PG_ENV, PG)
    monkeypatch.setenv(ci.PGBOUNCER_ENV, PG)


def ci_run_commands() -> list[str]:
    """The commands of .ci/run, one per logical line, comments and blank lines left out."""
    text = (CHECKOUT / ".ci" / "run").read_text().replace("\\\n", " ")
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_ci_run_hands_over_to_the_shared_steps_and_runs_none_of_its_own() -> None:
    commands = ci_run_commands()
    assert commands[-1] == "python -m devtools.ci"
    assert [c for c in commands if "devtools.ci" in c] == ["python -m devtools.ci"]
    tools = ("ruff", "mypy", "pytest", "devtools.dist", "devtools.floors")
    assert [c for c in commands if any(tool in c.split() for tool in tools)] == []
    # The README's install, in a fresh venv, before the steps.
    assert 'python -m pip install -q -e ".[dev]"' in commands


def test_the_steps_are_what_ci_must_run_in_order() -> None:
    assert [s.name for s in ci.STEPS] == [
        "installed",
        "ruff-check",
        "ruff-format",
        "mypy",
        "dist",
        "floors",
        "newest",
        "pytest",
    ]
    assert ci.step("pytest").argv == ("pytest",)  # the whole suite: no marker, no path
    assert not ci.step("pytest").alongside
    assert [s.name for s in ci.STEPS if s.alongside] == ["dist", "floors", "newest"]


def test_inv_ci_dry_prints_the_commands_of_python_m_devtools_ci(
    capsys: pytest.CaptureFixture[str], ci_machine: None
) -> None:
    code, out, err = inv(capsys, "--dry", "ci")
    assert (code, err) == (0, "")
    assert ci.main(["--dry"]) == 0
    assert capsys.readouterr().out == out
    assert out.splitlines() == [s.shown() + ("  &" if s.alongside else "") for s in ci.STEPS]


def test_inv_ci_list_names_the_steps_as_the_module_does(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = inv(capsys, "ci", "--list")
    assert code == 0
    assert ci.main(["--list"]) == 0
    assert capsys.readouterr().out == out
    assert [line.split(":")[0] for line in out.splitlines()] == [s.name for s in ci.STEPS]


def test_inv_ci_refuses_to_run_without_the_postgresql_ci_has(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ci.PG_ENV, raising=False)
    code, out, err = inv(capsys, "--dry", "ci")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: CI runs the PostgreSQL tests: set {ci.PG_ENV}")
    assert "Traceback" not in err


def test_inv_ci_postgres_names_the_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ci.PG_ENV, raising=False)
    monkeypatch.setenv(ci.PGBOUNCER_ENV, PG)
    code, out, _ = inv(capsys, "--dry", "ci", "--postgres", PG)
    assert code == 0
    assert out.splitlines()[-1] == "pytest"


@pytest.mark.parametrize("dry", [("--dry",), ("-R",)])
def test_lint_typecheck_and_dist_echo_exactly_cis_commands_under_dry(
    capsys: pytest.CaptureFixture[str], dry: tuple[str]
) -> None:
    code, out, err = inv(capsys, *dry, "lint", "typecheck", "dist")
    assert (code, err) == (0, "")
    names = ("ruff-check", "ruff-format", "mypy", "dist")
    assert echoed(out) == [ci.step(name).command() for name in names]


def test_app_dry_run_is_a_dry_run_for_the_developer_tasks_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DRY_RUN", "1")
    code, out, _ = inv(capsys, "fmt")
    assert code == 0
    ruff = str(Path(sys.executable).parent / "ruff")
    assert echoed(out) == [[ruff, "check", ".", "--fix"], [ruff, "format", "."]]
    code, _, err = inv(capsys, "bench")
    assert (code, err) == (
        2,
        "error: bench cannot be dry-run (it builds databases and runs commands)\n",
    )


def test_inv_test_passes_its_flags_to_pytest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = inv(
        capsys,
        "--dry",
        "test",
        "--fast",
        "-k",
        "users and not pg",
        "--path",
        "tests/unit tests/cli",
    )
    assert code == 0
    pytest_bin = str(Path(sys.executable).parent / "pytest")
    assert echoed(out) == [
        [pytest_bin, "-m", "not slow", "-k", "users and not pg", "tests/unit", "tests/cli"]
    ]


def test_preflight_names_what_ci_has_and_this_machine_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ci.preflight({ci.PG_ENV: PG, ci.PGBOUNCER_ENV: PG}) == []
    assert ci.preflight({ci.PGBOUNCER_ENV: PG})[0].startswith("CI runs the PostgreSQL tests")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("tests.fixtures.pgbouncer.SEARCH_PATH", ())
    (problem,) = ci.preflight({ci.PG_ENV: PG})
    assert problem.startswith("CI runs the PgBouncer tests: PgBouncer is not installed")


def test_the_steps_run_with_ci_set_as_in_ci() -> None:
    assert ci.ci_environ({"PATH": "/bin"}) == {"PATH": "/bin", "CI": "true"}


@pytest.mark.parametrize(
    ("lines", "counts"),
    [
        (["....", "850 passed, 12 skipped in 240.12s (0:04:00)"], {"passed": 850, "skipped": 12}),
        (["= 3 failed, 1 passed, 2 errors in 1.00s ="], {"failed": 5, "passed": 1}),
        (["1 passed in 0.5s", "SKIPPED 3 tests: reason"], {"passed": 1}),
        (["no tests ran in 0.01s"], {}),
        (["note: no Python newer than 3.11 here: skipped"], {}),
        # The floors run pytest twice (SQLite, then PostgreSQL): both count.
        (["10 passed, 2 skipped in 3.0s", "...", "4 passed in 1.0s"], {"passed": 14, "skipped": 2}),
    ],
)
def test_pytest_counts_reads_the_closing_lines(lines: list[str], counts: dict[str, int]) -> None:
    assert ci.pytest_counts(lines) == counts


@pytest.mark.slow
def test_steps_alongside_run_beside_the_rest_and_their_failure_fails_the_run() -> None:
    def python(name: str, code: str, *, alongside: bool = False) -> ci.Step:
        return ci.Step(name, ("python", "-c", code), name, alongside=alongside)

    out = io.StringIO()
    steps = [
        python(
            "floors",
            "import time, sys; time.sleep(1); print('3 passed in 1.0s'); sys.exit(3)",
            alongside=True,
        ),
        python("pytest", "print('2 passed, 1 skipped in 0.1s')"),
    ]
    assert ci.run_steps(steps, env=ci.ci_environ(), out=out) == 1
    text = out.getvalue()
    assert text.index("2 passed, 1 skipped") < text.index("== floors (alongside), exit 3:")
    assert "floors       FAILED (3)" in text
    assert text.splitlines()[-1] == "ci: 5 passed, 0 failed, 1 skipped"

    out = io.StringIO()
    steps = [python("first", "raise SystemExit(4)"), python("never", "print('ran')")]
    assert ci.run_steps(steps, env=ci.ci_environ(), out=out) == 1
    assert "error: step first failed (exit 4)" in out.getvalue()
    assert "never        not run" in out.getvalue()


@pytest.mark.slow
def test_the_developer_tasks_load_nothing_but_invoke_for_inv_list() -> None:
    probe = "import sys, devtools.tasks; print(*sorted(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=CHECKOUT, capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert not loaded & {"backend", "tests", "packaging", "sqlalchemy", "pydantic", "bench"}
    assert not {"devtools.ci", "devtools.dist", "devtools.floors"} & set(done.stdout.split())
