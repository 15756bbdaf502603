"""What CI runs, defined once: ``.ci/run`` runs ``python -m devtools.ci`` after its set-up, and
``inv ci`` runs the same steps, in the same order, through the same function.

    python -m devtools.ci            # every step (CI, and `inv ci`)
    python -m devtools.ci --list     # the steps, one a line: name, then the command
    python -m devtools.ci --dry      # the commands, run none

A step marked ``alongside`` starts and runs beside the steps after it (the three jobs that make
fresh environments and mostly wait on pip, next to the full suite on the other core); the run
waits for them at the end, prints their output, and fails when any of them failed.

Why a green ``inv ci`` predicts a green CI: the steps are the same objects; both runs set
``CI=true`` (hypothesis then derandomizes, as in CI); both need a PostgreSQL server and PgBouncer,
so the PostgreSQL tests are never quietly skipped on one side only; and the first step fails a
virtual environment that lacks what pyproject.toml declares (CI installs afresh). What remains
different: CI tests the commit, ``inv ci`` the working tree, and CI's fresh install may pick a
newer release of a dependency than the one installed here.

The steps and how they run are here; what the run reports (outcomes, pytest's counts, the
closing summary) is in :mod:`devtools.ci_report`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devtools.ci_report import Outcome, pytest_counts, report, say

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "BACKEND_TEST_POSTGRES_URL"
PGBOUNCER_ENV = "BACKEND_TEST_PGBOUNCER_URL"
# pytest_counts is devtools.ci_report's, kept importable from here.
__all__ = ["PGBOUNCER_ENV", "PG_ENV", "ROOT", "STEPS", "TEST_STEPS", "Step", "ci_environ", "main"]
__all__ += ["preflight", "pytest_counts", "run_steps", "step"]


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]
    what: str
    alongside: bool = False

    def command(self) -> list[str]:
        """``argv`` with its program resolved: this interpreter, or a script beside it."""
        program, *rest = self.argv
        if program == "python":
            return [sys.executable, *rest]
        beside = Path(sys.executable).parent / program
        return [str(beside) if beside.exists() else program, *rest]

    def shown(self) -> str:
        return shlex.join(self.argv)


STEPS: tuple[Step, ...] = (
    Step(
        "installed",
        ("python", "-m", "devtools.floors", "installed"),
        "this environment has what pyproject.toml declares",
    ),
    Step("ruff-check", ("ruff", "check", "."), "lint"),
    Step("ruff-format", ("ruff", "format", "--check", "."), "formatting"),
    Step("mypy", ("mypy",), "types, strict (the config in pyproject.toml)"),
    Step(
        "dist",
        ("python", "-m", "devtools.dist"),
        "sdist and wheel; the wheel installed and run outside the checkout",
        alongside=True,
    ),
    Step(
        "floors",
        ("python", "-m", "devtools.floors", "floors"),
        "the fast suite on the oldest Python with every dependency at its declared floor",
        alongside=True,
    ),
    Step(
        "newest",
        ("python", "-m", "devtools.floors", "newest"),
        "the fast suite (SQLite) on the newest Python here with the newest dependencies",
        alongside=True,
    ),
    Step("pytest", ("pytest",), "the whole suite, SQLite, PostgreSQL and PgBouncer"),
)
TEST_STEPS = ("floors", "newest", "pytest")


def step(name: str) -> Step:
    (found,) = [s for s in STEPS if s.name == name]
    return found


def ci_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The steps' environment: CI's switches on top of this process's."""
    env = dict(os.environ if base is None else base)
    env["CI"] = "true"
    return env


def preflight(env: Mapping[str, str]) -> list[str]:
    """Why this run could not predict CI: what CI has and this machine lacks."""
    problems = []
    if not env.get(PG_ENV, "").strip():
        problems.append(
            f"CI runs the PostgreSQL tests: set {PG_ENV} (or `inv ci --postgres URL`), "
            "e.g. postgresql://postgres@127.0.0.1:5432/postgres"
        )
    if not env.get(PGBOUNCER_ENV, "").strip():
        from tests.fixtures.pgbouncer import PgBouncerUnavailable, find_pgbouncer

        try:
            find_pgbouncer()
        except PgBouncerUnavailable as missing:
            problems.append(f"CI runs the PgBouncer tests: {missing}")
    return problems


def run_steps(
    steps: Sequence[Step] = STEPS,
    *,
    env: Mapping[str, str],
    dry: bool = False,
    out: IO[str] | None = None,
) -> int:
    """Run ``steps`` in order (``alongside`` ones in the background); 0 when all passed."""
    out = sys.stdout if out is None else out
    if dry:
        for s in steps:
            out.write(f"{s.shown()}{'  &' if s.alongside else ''}\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="backend-ci-") as logs:
        return _run(steps, env=dict(env), logs=Path(logs), out=out)


def _run(steps: Sequence[Step], *, env: dict[str, str], logs: Path, out: IO[str]) -> int:
    started = time.monotonic()
    outcomes: list[Outcome] = []
    background: list[tuple[Outcome, subprocess.Popen[bytes], threading.Thread]] = []
    failed = False
    try:
        for s in steps:
            outcome = Outcome(s)
            outcomes.append(outcome)
            mark = "  (alongside)" if s.alongside else ""
            say(out, f"== {s.name}: {s.what}\n$ {s.shown()}{mark}")
            if s.alongside:
                outcome.log = logs / f"{s.name}.log"
                with outcome.log.open("wb") as log:
                    process = subprocess.Popen(  # noqa: S603
                        s.command(),
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,  # so an interrupt can stop its whole tree
                    )
                # Waited for as it ends, so the summary shows its own time, not the suite's.
                waiter = threading.Thread(target=_wait, args=(outcome, process), daemon=True)
                waiter.start()
                background.append((outcome, process, waiter))
                continue
            begun = time.monotonic()
            outcome.code, lines = _foreground(s, env=env, out=out)
            outcome.seconds = time.monotonic() - begun
            if s.name in TEST_STEPS:
                outcome.counts = pytest_counts(lines)
            if outcome.code != 0:
                failed = True
                say(out, f"error: step {s.name} failed (exit {outcome.code})")
                break
        for outcome, _process, waiter in background:
            waiter.join()
            assert outcome.log is not None
            text = outcome.log.read_text(errors="replace")
            say(out, f"== {outcome.step.name} (alongside), exit {outcome.code}:\n{text.rstrip()}")
            outcome.counts = pytest_counts(text.splitlines())
            failed = failed or outcome.code != 0
    finally:
        for _outcome, process, _waiter in background:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                process.wait()
    ran = {o.step.name for o in outcomes}
    outcomes += [Outcome(s) for s in steps if s.name not in ran]
    report(outcomes, time.monotonic() - started, out)
    return 1 if failed else 0


def _wait(outcome: Outcome, process: subprocess.Popen[bytes]) -> None:
    begun = time.monotonic()
    outcome.code = process.wait()
    outcome.seconds = time.monotonic() - begun


def _foreground(s: Step, *, env: dict[str, str], out: IO[str]) -> tuple[int, list[str]]:
    """Run a step with its output shown as it comes; returns its exit code and last lines."""
    process = subprocess.Popen(  # noqa: S603
        s.command(), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    tail: list[str] = []
    for raw in process.stdout:
        line = raw.decode(errors="replace")
        out.write(line)
        out.flush()
        tail = [*tail[-49:], line.rstrip("\n")]
    return process.wait(), tail


@contextlib.contextmanager
def _interrupts_end_the_run() -> Iterator[None]:
    # SIGTERM (CI's timeout) unwinds like Ctrl-C, so the jobs alongside are stopped too.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ci", description=__doc__)
    parser.add_argument("--list", action="store_true", help="print the steps and exit")
    parser.add_argument("--dry", action="store_true", help="print the commands, run none")
    args = parser.parse_args(argv)
    if args.list:
        for s in STEPS:
            print(f"{s.name}: {s.shown()}{'  (alongside)' if s.alongside else ''}")
        return 0
    env = ci_environ()
    problems = preflight(env)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 2
    with _interrupts_end_the_run():
        try:
            return run_steps(STEPS, env=env, dry=args.dry)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
