"""Timing whole processes (wall time and peak RSS of each child) and alternating two sides."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# Variables that would change what a child does or how fast it starts; the bench sets its own.
_DROPPED_PREFIXES = ("APP_", "INVOKE_", "PYDANTIC_SETTINGS_")
_DROPPED = frozenset(
    {
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONTRACEMALLOC",
        "PYTHONDEVMODE",
        "PYTHONWARNINGS",
        "PYTHONSTARTUP",
        "PYTHONASYNCIODEBUG",
    }
)


class ProcessFailed(RuntimeError):
    """A measured command exited non-zero: its numbers would be meaningless."""


@dataclass(frozen=True)
class Run:
    """One child process: wall time from spawn to exit, and its own peak resident set."""

    seconds: float
    max_rss_mib: float
    # CPU time (user + system) of the child: what load on a shared machine inflates least.
    cpu_seconds: float = 0.0


def venv_script(name: str) -> list[str]:
    """A console script of the running interpreter's environment (``inv``, ``alembic``)."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    module = {"inv": "invoke", "alembic": "alembic"}[name]
    return [sys.executable, "-m", module]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without APP_*/INVOKE_* settings or Python debug switches."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROPPED_PREFIXES) and key not in _DROPPED
    }
    env.update(extra or {})
    return env


# Spawns the measured command from a process of its own (``python -S``, about 9 MiB) and reports
# its wall time and peak RSS. A child's ru_maxrss starts from the RSS of the process that
# forked it (Linux copies the parent's high-water mark at exec), so children of the bench
# itself, which holds seeded rows in memory, would all look as big as the bench.
LAUNCHER = """\
import os, sys, time
argv = sys.argv[1:]
devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=devnull)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
print(seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime)
"""


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Run:
    """Run ``argv`` with stdout to /dev/null: its wall time and its own peak RSS.

    Both are taken by a small launcher around exactly this child (``posix_spawn`` + ``wait4``),
    so neither the launcher's start-up nor the bench's own memory is counted.
    """
    with tempfile.TemporaryFile() as errors:
        done = subprocess.run(  # noqa: S603 (the bench runs its own fixed commands)
            [sys.executable, "-S", "-c", LAUNCHER, *argv],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            check=False,
        )
        fields = done.stdout.split()
        code = int(fields[2]) if len(fields) == 4 else done.returncode
        if done.returncode != 0 or code != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-5:]
            raise ProcessFailed(f"`{' '.join(argv)}` exited {code}: " + " | ".join(tail))
    # Linux reports ru_maxrss in KiB.
    return Run(
        seconds=float(fields[0]), max_rss_mib=int(fields[1]) / 1024, cpu_seconds=float(fields[3])
    )


def side_by_side(
    a: Callable[[], T], b: Callable[[], T], *, reps: int, warmup: int = 1
) -> tuple[list[T], list[T]]:
    """Run A and B ``reps`` times each, interleaved ABBA so drift and order effects cancel.

    The warm-up runs (page cache, bytecode, first-run costs) are discarded.
    """
    for _ in range(warmup):
        a()
        b()
    first: list[T] = []
    second: list[T] = []
    for rep in range(reps):
        if rep % 2 == 0:
            first.append(a())
            second.append(b())
        else:
            second.append(b())
            first.append(a())
    return first, second


def in_turns(sides: Sequence[Callable[[], T]], *, reps: int, warmup: int = 1) -> list[list[T]]:
    """Like :func:`side_by_side` for any number of sides: each round runs every side once, the
    order rotating by one each round, so each side takes each place equally often."""
    for _ in range(warmup):
        for side in sides:
            side()
    results: list[list[T]] = [[] for _ in sides]
    indexes = list(range(len(sides)))
    for rep in range(reps):
        shift = rep % len(sides)
        order = indexes[shift:] + indexes[:shift]
        for index in order:
            results[index].append(sides[index]())
    return results


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
