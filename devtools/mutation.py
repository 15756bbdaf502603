"""Mutation testing for one module: how much of its behaviour do its fast tests pin down?

    python -m devtools.mutation backend/app/core/keys.py --tests tests/unit/test_key_format.py

Each mutant, one small change to the module's syntax tree, is tested by a fresh pytest in a
private copy of the checkout (never in the real file, which others may be editing). A survivor
means a missing test, or a change that cannot alter behaviour: list that on ``EQUIVALENT``
(in :mod:`devtools.mutation_equivalents`), with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from subprocess import PIPE, STDOUT

from devtools.mutants import Mutant, generate
from devtools.mutation_equivalents import EQUIVALENT

RAW_DESCRIPTION = argparse.RawDescriptionHelpFormatter


def _copy_checkout(root: Path, entries: set[str], into: Path) -> Path:
    into.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in sorted(entries):
        if (root / name).is_dir():
            shutil.copytree(root / name, into / name, ignore=ignore)
        elif (root / name).is_file():
            shutil.copy2(root / name, into / name)
    return into


def _pytest(
    workdir: Path, module: str, source: str, tests: Sequence[str], timeout: float
) -> tuple[str, str]:
    """Test ``source`` as ``module`` in ``workdir``: (killed, survived or timeout; the output)."""
    (workdir / module).write_text(source, encoding="utf-8")
    # The copy goes on the path ahead of an editable install of the checkout, and no bytecode
    # is cached: two mutants written within the same second must never share a .pyc.
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    with subprocess.Popen(  # noqa: S603 (our own interpreter, our own arguments)
        command,
        cwd=workdir,
        env=env,
        stdout=PIPE,
        stderr=STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its whole group: pytest may have children
            process.communicate()
            return "timeout", ""
    return ("survived" if process.returncode == 0 else "killed"), output


def _summary(module: str, mutants: list[Mutant], minimum: float) -> tuple[float, list[str]]:
    counted = [m for m in mutants if not (m.equivalent and m.status == "survived")]
    killed = [m for m in counted if m.status != "survived"]
    rate = 100.0 * len(killed) / len(counted) if counted else 100.0
    timeouts = sum(m.status == "timeout" for m in killed)
    lines = [
        f"{module}: {len(mutants)} mutants: {len(killed)} killed ({timeouts} by timeout), "
        f"{len(counted) - len(killed)} survived, {len(mutants) - len(counted)} equivalent",
        f"killed {rate:.1f}% of {len(counted)} behaviour-changing mutants (minimum {minimum:g}%)",
    ]
    for title, group in (
        ("survived:", [m for m in counted if m.status == "survived"]),
        ("equivalent (allow-listed):", [m for m in mutants if m not in counted]),
        ("allow-listed as equivalent, yet killed:", [m for m in killed if m.equivalent]),
    ):
        lines += [title] if group else []
        for m in group:
            line = f"  {module}:{m.line}: {m.scope}: {m.description}  {m.equivalent or ''}"
            lines.append(line.rstrip())
    stale = set(EQUIVALENT.get(module, {})) - {(m.scope, m.description) for m in mutants}
    lines += [f"allow-listed, but no such mutant: {scope}: {what}" for scope, what in stale]
    return rate, lines


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        "python -m devtools.mutation", description=__doc__, formatter_class=RAW_DESCRIPTION
    )
    parser.add_argument("module", type=Path, help="the module to mutate, e.g. backend/app/x.py")
    parser.add_argument("--tests", nargs="+", required=True, help="test files or node ids")
    parser.add_argument("--jobs", type=int, default=2, help="pytest runs at once (default 2)")
    parser.add_argument("--min", type=float, default=95.0, help="lowest kill rate that passes, %%")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default 4x baseline)")
    parser.add_argument("--json", type=Path, dest="json_out", help="also write the results here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.monotonic()
    root = next(p for p in args.module.resolve().parents if (p / "pyproject.toml").is_file())
    module = args.module.resolve().relative_to(root).as_posix()
    split = (test.partition("::") for test in args.tests)
    tests = [Path(p).resolve().relative_to(root).as_posix() + s + node for p, s, node in split]
    original, generated = generate((root / module).read_text(encoding="utf-8"))
    for mutant, _ in generated:
        mutant.equivalent = EQUIVALENT.get(module, {}).get((mutant.scope, mutant.description))
    entries = {"pyproject.toml", "conftest.py", *(path.split("/")[0] for path in [module, *tests])}
    jobs = max(1, args.jobs)

    with tempfile.TemporaryDirectory(prefix="mutation-") as temporary:
        slots: queue.Queue[Path] = queue.Queue()
        for job in range(jobs):
            slots.put(_copy_checkout(root, entries, Path(temporary) / str(job)))
        workdir = slots.get()
        before = time.monotonic()
        status, output = _pytest(workdir, module, original, tests, 600.0)
        baseline = time.monotonic() - before
        if status != "survived":
            print(f"the tests fail without any mutant:\n{output[-4000:]}", file=sys.stderr)
            return 2
        # A module that cannot even be imported must fail them, or they test something else.
        broken = original + "\nraise RuntimeError('mutation: broken on purpose')\n"
        if _pytest(workdir, module, broken, tests, 600.0)[0] != "killed":
            print(f"the tests never import {module} from the copy", file=sys.stderr)
            return 2
        slots.put(workdir)
        timeout = args.timeout or max(30.0, 4 * baseline)
        print(f"{module}: {len(generated)} mutants, {jobs} jobs", file=sys.stderr)

        def run(item: tuple[Mutant, str]) -> None:
            mutant, source = item
            workdir = slots.get()
            try:
                mutant.status = _pytest(workdir, module, source, tests, timeout)[0]
            finally:
                slots.put(workdir)

        # Threads suffice: each one only waits on a pytest process of its own.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, generated))

    mutants = [mutant for mutant, _ in generated]
    rate, lines = _summary(module, mutants, args.min)
    seconds = time.monotonic() - started
    print("\n".join([*lines, f"{seconds:.0f}s in all, {baseline:.1f}s for one test run"]))
    if args.json_out:
        result = {"module": module, "tests": tests, "kill_rate": rate, "seconds": seconds}
        result["mutants"] = [asdict(mutant) for mutant in mutants]
        args.json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if rate >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
