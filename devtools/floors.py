"""The fast suite in a fresh virtual environment: at the declared floors, or on the newest Python.

    python -m devtools.floors floors      # Python 3.11 (requires-python), every `>=` at its floor
    python -m devtools.floors newest      # the newest python3.X here, the newest dependencies
    python -m devtools.floors pins        # the floors this would force, one requirement a line
    python -m devtools.floors installed   # does this environment have what pyproject declares?

Both suites run in a copy of the checkout, so they can run beside the main suite: nothing they
install or build is written into the checkout. The copy is what the working tree holds now,
installed as the README says (``pip install -e ".[dev]"``); ``floors`` then forces the floors
derived from pyproject.toml, so a floor nobody tests cannot stay in pyproject.toml.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("BACKEND_TEST_POSTGRES_URL", "BACKEND_TEST_PGBOUNCER_URL")
FAST_SUITE = ("-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider")
# At the floors, PostgreSQL is tested where the drivers' versions matter: every PostgreSQL test
# of the service and driver level (engines, the hot path, PgBouncer, migrations, slow ones too).
# The CLI tests' PostgreSQL variants send the same statements through the same code, and the
# main suite runs them; running them here too would cost a third of CI's time on two cores.
FLOORS_POSTGRES = ("-m", "pytest", "-m", "postgres", "-q", "-p", "no:cacheprovider")
FLOORS_POSTGRES_PATHS = ("tests/unit", "tests/integration")
# What a copy of the checkout leaves out: tools' caches, environments and build output.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "*.sqlite",
)  # fmt: skip


def project(root: Path = ROOT) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["project"]
    return table


def requirements(root: Path = ROOT, *, extras: Sequence[str] = ("dev",)) -> list[str]:
    """The declared requirements: the dependencies, then those of ``extras``."""
    table = project(root)
    declared: list[str] = list(table.get("dependencies", []))
    optional: dict[str, list[str]] = table.get("optional-dependencies", {})
    for extra in extras:
        declared += optional.get(extra, [])
    return declared


def floor_pins(root: Path = ROOT) -> list[str]:
    """``name[extras]==floor`` for every declared requirement that has a ``>=`` floor."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = []
    for text in requirements(root):
        req = Requirement(text)
        floors = [spec.version for spec in req.specifier if spec.operator == ">="]
        if floors and (req.marker is None or req.marker.evaluate()):
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            pins.append(f"{req.name}{extras}=={max(floors, key=Version)}")
    return pins


def unmet(root: Path = ROOT) -> list[str]:
    """What this environment lacks of the declared requirements, one line each."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    problems = []
    for text in requirements(root):
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            problems.append(f"{req.name} is not installed (pyproject: {text})")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{req.name} {installed} is installed (pyproject: {text})")
    return problems


def minimum_python(root: Path = ROOT) -> tuple[int, int]:
    spec = str(project(root).get("requires-python", ""))
    found = re.search(r">=\s*(\d+)\.(\d+)", spec)
    if found is None:
        raise SystemExit(f"error: requires-python ({spec!r}) names no >= floor")
    return int(found[1]), int(found[2])


def pythons() -> dict[tuple[int, int], str]:
    """Every working ``python3.X`` on PATH or among pyenv's versions, newest first."""
    candidates: list[str] = []
    for minor in range(8, 40):
        found = shutil.which(f"python3.{minor}")
        if found is not None:
            candidates.append(found)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv / "versions" / "*" / "bin" / "python3.*[0-9]")))
    found_versions: dict[tuple[int, int], str] = {}
    for candidate in candidates:
        # A pyenv shim exists for every installed version but runs only the selected ones.
        probe = subprocess.run(  # noqa: S603
            [candidate, "-c", "import sys; print(*sys.version_info[:2], sys.executable)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            major, minor_, executable = probe.stdout.strip().split(maxsplit=2)
            found_versions.setdefault((int(major), int(minor_)), executable)
    return dict(sorted(found_versions.items(), reverse=True))


def run(argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
    shown = " ".join(argv)
    print(f"$ {shown}", flush=True)
    done = subprocess.run(argv, cwd=cwd, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"error: exit {done.returncode}: {shown}")


def suite(python: str, *, pins: Sequence[str], work: Path, postgres: bool = True) -> None:
    """A fresh venv of ``python`` in ``work``, the project in it, ``pins`` forced, the fast suite
    on SQLite, then (with ``postgres``, when the environment names a server) its PostgreSQL tests
    of the services and drivers."""
    copy = work / "checkout"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
    venv = work / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    sqlite_only = {k: v for k, v in env.items() if k not in SERVERS}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    with _timed("fresh venv and pip install -e .[dev]"):
        run([python, "-m", "venv", str(venv)], cwd=copy)
        vpython = str(venv / "bin" / "python")
        run([vpython, "-m", "pip", "install", "-q", "-e", ".[dev]"], cwd=copy, env=env)
    if pins:
        with _timed("forcing the floors"):
            run([vpython, "-m", "pip", "install", "-q", *pins], cwd=copy, env=env)
            # A forced floor that breaks another package's requirement is a false floor too.
            run([vpython, "-m", "pip", "check"], cwd=copy, env=env)
    run([vpython, "-m", "pip", "freeze", "--exclude-editable"], cwd=copy, env=env)
    with _timed("the fast suite (SQLite)"):
        run([vpython, *FAST_SUITE], cwd=copy, env=sqlite_only)
    if postgres and env.get(SERVERS[0], "").strip():
        with _timed("the PostgreSQL tests of the services and drivers"):
            run([vpython, *FLOORS_POSTGRES, *FLOORS_POSTGRES_PATHS], cwd=copy, env=env)


@contextlib.contextmanager
def _timed(what: str) -> Iterator[None]:
    start = time.monotonic()
    yield
    print(f"-- {what}: {time.monotonic() - start:.0f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.floors", description=__doc__)
    parser.add_argument("job", choices=["floors", "newest", "pins", "installed"])
    args = parser.parse_args(argv)
    if args.job == "pins":
        print("\n".join(floor_pins()))
        return 0
    if args.job == "installed":
        problems = unmet()
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if problems:
            print('hint: pip install -e ".[dev]" (CI installs afresh)', file=sys.stderr)
            return 1
        print("ok: this environment has what pyproject.toml declares")
        return 0
    found = pythons()
    oldest = minimum_python()
    if args.job == "floors":
        if oldest not in found:
            print(f"error: no python{oldest[0]}.{oldest[1]} here for the floors", file=sys.stderr)
            return 1
        python, pins = found[oldest], floor_pins()
        print(f"floors on Python {oldest[0]}.{oldest[1]} ({python}): {' '.join(pins)}", flush=True)
    else:
        newest = next(iter(found), None)
        if newest is None or newest <= oldest:
            # The main suite already runs on the oldest supported Python.
            print(f"note: no Python newer than {oldest[0]}.{oldest[1]} here: skipped")
            return 0
        python, pins = found[newest], []
        print(f"newest: Python {newest[0]}.{newest[1]} ({python}), newest dependencies", flush=True)
        # SQLite only: the PostgreSQL variants run through the same code of ours, and the main
        # suite and the floors run them; twice more would not fit CI's time on two cores.
        print("note: newest: SQLite only (the PostgreSQL tests run in pytest and floors)")
    with tempfile.TemporaryDirectory(prefix=f"backend-{args.job}-") as work:
        suite(python, pins=pins, work=Path(work), postgres=args.job == "floors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
