"""Real CLI processes for the fault and concurrency tests: started together, always reaped.

Every wait has a timeout: a hang fails the test (and kills the process) instead of blocking CI.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import Result as Run

CHECKOUT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds any one process may take before the test fails

# Imports first, says it is ready, waits for "go" on stdin, then runs `python -m backend.app.cli
# ARGS`: without the barrier, start-up jitter (~0.3-0.5 s of imports, more with 12 processes on
# two cores) would serialise most of a race.
STARTER = """
import runpy, sys
import backend.app.cli.__main__, passlib.context, sqlalchemy.ext.asyncio
print("ready", file=sys.stderr, flush=True)
sys.stdin.readline()
sys.modules.pop("backend.app.cli.__main__")  # run_module warns about a module it finds loaded
sys.argv = ["backendctl", *sys.argv[1:]]
runpy.run_module("backend.app.cli", run_name="__main__", alter_sys=True)
"""

# prctl(PR_CAPBSET_DROP, cap): after exec, root keeps only the capabilities in its bounding set.
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def describe(runs: Sequence[Run]) -> str:
    return "\n".join(str(run) for run in runs)


def cli_env(url: str, **extra: str) -> dict[str, str]:
    """The test's environment (conftest already removed APP_* and set APP_ACTOR), plus the URL."""
    return {**os.environ, "APP_DATABASE_URL": url, "PYTHONPATH": str(CHECKOUT), **extra}


def obey_file_modes() -> None:
    """In a child about to exec: drop root's power to ignore file permissions.

    The interpreter lives under /root (mode 0700) here, so running the CLI as ``nobody`` is not
    possible; a root process without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH is refused by a
    0444 file or a 0555 folder exactly like any other user. A no-op when not root.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_CAPBSET_DROP) failed: {os.strerror(errno)}")


def require_file_modes_obeyed(folder: Path) -> None:
    """Skip unless a process started with :func:`obey_file_modes` is refused a read-only folder."""
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"],
        preexec_fn=obey_file_modes,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    if probe.returncode == 0:
        (folder / "probe").unlink()
        pytest.skip("cannot make a process obey file modes here (root without CAP_SETPCAP?)")


def start(
    project: Path,
    env: Mapping[str, str],
    argv: Sequence[str],
    *,
    barrier: bool = False,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """Start ``python -m backend.app.cli ARGV`` in ``project``.

    With ``barrier``, the process imports everything, prints ``ready`` and waits for :func:`go`.
    """
    command = (
        [sys.executable, "-c", STARTER, *argv]
        if barrier
        else [sys.executable, "-m", "backend.app.cli", *argv]
    )
    process = subprocess.Popen(
        command,
        cwd=project,
        env=dict(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,  # noqa: PLW1509 - the tests start processes from one thread
    )
    if barrier:
        assert process.stderr is not None
        line = process.stderr.readline()  # returns at the latest when the process dies
        assert line == "ready\n", f"the process did not get ready: {line!r}"
    return process


def go(processes: Sequence[subprocess.Popen[str]]) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def finish(process: subprocess.Popen[str], *, timeout: float = WAIT) -> Run:
    """Wait for the process; one that hangs is killed and fails the test."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
        pytest.fail(f"{process.args!r} hung for {timeout} s and was killed\n{out}{err}")
    args = [str(arg) for arg in process.args]  # type: ignore[union-attr]
    argv = args[3:] if args[1] == "-c" or args[1:3] == ["-m", "backend.app.cli"] else args
    return Run(tuple(argv), process.returncode, out, err)


@contextmanager
def reaped() -> Iterator[list[subprocess.Popen[str]]]:
    """Collects started processes; any still running when the block ends are killed."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)


def run(
    project: Path,
    env: Mapping[str, str],
    *argv: str,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = WAIT,
) -> Run:
    with reaped() as started:
        started.append(start(project, env, argv, preexec_fn=preexec_fn))
        return finish(started[0], timeout=timeout)


def race(project: Path, env: Mapping[str, str], commands: Sequence[Sequence[str]]) -> list[Run]:
    """Run each command in its own process, all released at the same instant."""
    with reaped() as started:
        for argv in commands:
            started.append(start(project, env, argv, barrier=True))
        go(started)
        deadline = time.monotonic() + WAIT
        return [finish(p, timeout=max(1.0, deadline - time.monotonic())) for p in started]


def assert_clean_failure(run: Run, code: int) -> str:
    """Exit ``code`` and one ``error:`` line: no traceback, no warning, nothing on stdout.

    Returns the line. The only other line allowed is the announcement of profile and database.
    """
    assert run.code == code, str(run)
    assert len(run.error_lines) == 1, str(run)
    others = [line for line in run.stderr.splitlines() if not line.startswith("error: ")]
    assert all(line.startswith("profile ") for line in others), str(run)
    assert run.stdout == "", str(run)
    return run.error_lines[0]
