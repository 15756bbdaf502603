"""The release check: build the sdist and the wheel, install the wheel where no checkout can help
it, and run the console script against a throwaway SQLite database.

    python -m devtools.dist [--dry]

``python -m build`` makes the sdist and then the wheel *from the sdist*, so a file the sdist
forgets is missing from the wheel too, and shows here rather than on a server. The wheel goes
into a fresh virtual environment in a temporary folder, and every command runs from an empty
folder with a private HOME and no ``APP_*`` variable but the database: nothing of the checkout
(its invoke.yaml, alembic.ini, sources) can stand in for what the wheel lacks. The artifacts
are copied into ``dist/``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "backend"


class Failed(Exception):
    """A check failed; the message says which and shows what the command printed."""


class Plan:
    """Runs commands and checks, or under a dry run only prints them."""

    def __init__(self, *, dry: bool) -> None:
        self.dry = dry

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        expect: int = 0,
        brief: bool = False,
    ) -> str:
        print(f"$ {shlex.join(str(a) for a in argv)}", flush=True)
        if self.dry:
            return ""
        done = subprocess.run(  # noqa: S603
            [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        shown = (done.stdout + done.stderr).rstrip()
        if done.returncode != expect:
            raise Failed(
                f"exit {done.returncode} (expected {expect}): {shlex.join(map(str, argv))}\n{shown}"
            )
        if brief and shown.count("\n") > 1:
            shown = f"{shown.splitlines()[0]} ... ({shown.count(chr(10)) + 1} lines)"
        if shown:
            print("  " + shown.replace("\n", "\n  "), flush=True)
        return done.stdout

    @contextlib.contextmanager
    def timed(self, what: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        if not self.dry:
            print(f"-- {what}: {time.monotonic() - start:.0f} s", flush=True)

    def check(self, what: str, problems: Iterator[str] | list[str]) -> None:
        print(f"check: {what}", flush=True)
        if self.dry:
            return
        found = list(problems)
        if found:
            raise Failed(f"{what}:\n  " + "\n  ".join(found))


def shipped_files(root: Path = ROOT) -> list[str]:
    """Every file of the package in the checkout, as a path relative to ``root``."""
    files = []
    for path in sorted((root / PACKAGE).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path.relative_to(root).as_posix())
    return files


def missing_from_wheel(wheel: Path, expected: Sequence[str]) -> Iterator[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in expected:
        if name not in names:
            yield f"{name} is not in {wheel.name}"


def missing_from_sdist(sdist: Path, expected: Sequence[str]) -> Iterator[str]:
    with tarfile.open(sdist) as archive:
        # Every member sits under one top folder, `backend-0.1.0/`.
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in [*expected, "pyproject.toml", "README.md"]:
        if name not in names:
            yield f"{name} is not in {sdist.name}"


def isolated_env(venv: Path, home: Path, database: Path) -> dict[str, str]:
    """The environment of a machine that has the wheel and nothing else of ours."""
    skipped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in skipped and not key.startswith(("APP_", "INVOKE_"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)  # a developer's ~/.invoke.yaml must not help
    env["APP_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def check_release(plan: Plan, work: Path, outdir: Path | None) -> None:
    built = work / "dist"
    with plan.timed("build the sdist, then the wheel from it"):
        plan.run([sys.executable, "-m", "build", "--outdir", built, ROOT], cwd=ROOT)
    wheels = sorted(built.glob("*.whl")) if not plan.dry else [built / "backend-*.whl"]
    sdists = sorted(built.glob("*.tar.gz")) if not plan.dry else [built / "backend-*.tar.gz"]
    if len(wheels) != 1 or len(sdists) != 1:
        raise Failed(f"expected one wheel and one sdist in {built}, found {wheels + sdists}")
    wheel, sdist = wheels[0], sdists[0]
    expected = shipped_files()
    plan.check(
        f"the wheel holds all {len(expected)} files of {PACKAGE}/ (migrations, script.py.mako)",
        missing_from_wheel(wheel, expected) if not plan.dry else [],
    )
    plan.check(
        "the sdist holds them too, and pyproject.toml and README.md",
        missing_from_sdist(sdist, expected) if not plan.dry else [],
    )

    venv, home, cwd = work / "venv", work / "home", work / "empty"
    with plan.timed("a fresh venv, the wheel installed in it"):
        plan.run([sys.executable, "-m", "venv", venv], cwd=work)
        plan.run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=work)
    for folder in (home, cwd):
        if not plan.dry:
            folder.mkdir()
    env = isolated_env(venv, home, work / "db" / "app.sqlite")
    print(f"$ export APP_DATABASE_URL={env['APP_DATABASE_URL']}  # and cd {cwd}", flush=True)
    with plan.timed("the console script, from an empty folder"):
        where = plan.run(
            [venv / "bin" / "python", "-c", "import backend; print(backend.__file__)"],
            cwd=cwd,
            env=env,
        )
        plan.check(
            "the package is imported from the venv, not from the checkout",
            [] if where.startswith(str(venv)) else [f"backend was imported from {where.strip()}"],
        )
        ctl = venv / "bin" / "backendctl"
        plan.run([ctl, "--version"], cwd=cwd, env=env)
        plan.run([ctl, "--list"], cwd=cwd, env=env, brief=True)
        plan.run([ctl, "db.history"], cwd=cwd, env=env)
        plan.run([ctl, "db.upgrade"], cwd=cwd, env=env)
        plan.run([ctl, "users.seed-admin"], cwd=cwd, env=env)
        plan.run([ctl, "db.check"], cwd=cwd, env=env)
        # New migrations belong to a checkout: an installed package refuses to write one.
        plan.run([ctl, "db.revision", "--message", "x"], cwd=cwd, env=env, expect=2)
        plan.check(
            "nothing was written into the working folder",
            [f"{cwd} now holds {p.name}" for p in cwd.iterdir()] if not plan.dry else [],
        )
    if outdir is not None:
        print(f"$ cp {wheel.name} {sdist.name} {outdir}/", flush=True)
        if not plan.dry:
            outdir.mkdir(parents=True, exist_ok=True)
            for artifact in (wheel, sdist):
                shutil.copy2(artifact, outdir / artifact.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dist", description=__doc__)
    parser.add_argument("--dry", action="store_true", help="print the commands, run none")
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="default: dist/")
    args = parser.parse_args(argv)
    plan = Plan(dry=args.dry)
    try:
        if args.dry:
            check_release(plan, Path(tempfile.gettempdir()) / "backend-dist-XXXXXX", args.outdir)
            return 0
        with tempfile.TemporaryDirectory(prefix="backend-dist-") as work:
            if Path(work).resolve().is_relative_to(ROOT):
                raise Failed(f"the temporary folder {work} is inside the checkout: set TMPDIR")
            check_release(plan, Path(work), args.outdir)
    except Failed as failed:
        print(f"error: dist: {failed}", file=sys.stderr)
        return 1
    print("ok: the wheel installs and runs on its own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
