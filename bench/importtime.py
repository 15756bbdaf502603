"""``--explain``: where each whole-process command spends its time, imports against the rest.

Each command runs a few times plainly (wall time) and as often under ``python -X importtime``;
each module's own import time is added to its package's. importtime slows imports a little, so
its totals are upper bounds; "rest" (wall minus imports) is interpreter start-up plus the work.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from bench import startup, startup_create, startup_tasks, startup_upgrade
from bench.context import Bench
from bench.measure import child_env, median, run, venv_script
from bench.rows import BENCH_PASSWORD

TOP = 7


@dataclass
class Probe:
    figure: str
    label: str
    argv: Callable[[], list[str]]
    cwd: Path
    env: dict[str, str]
    prepare: Callable[[], None] = field(default=lambda: None)


def _package(module: str) -> str:
    return module.partition(".")[0]


def parse(stderr: str) -> dict[str, float]:
    """Milliseconds of import per library in -X importtime output.

    Each module's own time goes to its package, or, for a standard-library module, to the
    library whose import pulled it in (``unittest.mock`` under invoke counts as invoke), so each
    figure is what depending on that library costs. Start-up's own imports count as "python".
    The sum is the process's whole import time.
    """
    lines: list[tuple[int, str, float]] = []  # (depth, module, own ms), children before parents
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        if own_us.strip().isdigit():  # not the header
            depth = (len(name) - len(name.lstrip(" "))) // 2
            lines.append((depth, name.strip(), int(own_us) / 1000))
    owners = _owners(lines)
    packages: dict[str, float] = defaultdict(float)
    for (_depth, _name, own), owner in zip(lines, owners, strict=True):
        packages[owner] += own
    return dict(packages)


def _owners(lines: list[tuple[int, str, float]]) -> list[str]:
    """For each line, the library it is charged to (see :func:`parse`)."""
    parent: list[int | None] = [None] * len(lines)
    pending: list[int] = []  # indexes still waiting for their parent, in order
    for index, (depth, _name, _own) in enumerate(lines):
        while pending and lines[pending[-1]][0] > depth:
            parent[pending.pop()] = index
        pending.append(index)
    owners = [""] * len(lines)
    for index in reversed(range(len(lines))):  # parents come after their children
        package = _package(lines[index][1])
        up = parent[index]
        if package not in sys.stdlib_module_names and not package.startswith("_"):
            owners[index] = package
        elif up is not None:
            owners[index] = owners[up]
        else:
            owners[index] = "python"
    return owners


def _under_importtime(argv: list[str]) -> list[str]:
    if argv[0] == sys.executable:
        return [sys.executable, "-X", "importtime", *argv[1:]]
    return [sys.executable, "-X", "importtime", *argv]  # a console script is a Python file


def measure(probe: Probe, runs: int = 3) -> dict[str, Any]:
    """Median wall time of plain runs; median per-package import time of importtime runs."""
    walls = []
    profiles: list[dict[str, float]] = []
    for _ in range(runs):
        probe.prepare()
        walls.append(run(probe.argv(), cwd=probe.cwd, env=probe.env).seconds * 1000)
        probe.prepare()
        done = subprocess.run(  # noqa: S603
            _under_importtime(probe.argv()),
            cwd=probe.cwd,
            env=probe.env,
            capture_output=True,
            text=True,
            check=True,
        )
        profiles.append(parse(done.stderr))
    names = {name for profile in profiles for name in profile}
    packages = {name: median([p.get(name, 0.0) for p in profiles]) for name in names}
    wall = median(walls)
    imports = median([sum(p.values()) for p in profiles])
    return {
        "figure": probe.figure,
        "command": probe.label,
        "wall_ms": round(wall, 1),
        "imports_ms": round(imports, 1),
        "rest_ms": round(wall - imports, 1),
        "packages_ms": {
            name: round(ms, 1)
            for name, ms in sorted(packages.items(), key=lambda kv: -kv[1])[:TOP]
            if ms >= 0.5
        },
    }


def fixed(argv: list[str]) -> Callable[[], list[str]]:
    return lambda: argv


def probes(bench: Bench, figures: set[str]) -> list[Probe]:
    inv = venv_script("inv")
    found: list[Probe] = []
    if "P1" in figures:
        trivial = bench.work / "trivial"
        if not (trivial / "tasks.py").exists():
            startup_tasks.write_trivial_collection(bench, trivial)
        env = child_env()
        for args in (["--list"], ["--help", "users.create"]):
            argv = [*inv, *args]
            label = " ".join(args)
            found.append(Probe("P1", f"inv {label}", fixed(argv), bench.root, env))
            found.append(Probe("P1", f"inv {label} (trivial)", fixed(argv), trivial, env))
    if "P2" in figures or "P3" in figures:
        database = bench.work / "explain.sqlite"
        env = child_env(
            {"APP_DATABASE_URL": startup.sqlite_url(database), "BENCH_PW": BENCH_PASSWORD}
        )

        def fresh() -> None:
            startup.remove_database(database)

        def migrated() -> None:
            if not database.exists():
                run([*inv, "db.upgrade"], cwd=bench.root, env=env)

        alembic = [*venv_script("alembic"), "-c", "alembic.ini", "upgrade", "head"]
        if "P2" in figures:
            found.append(
                Probe("P2", "inv db.upgrade", lambda: [*inv, "db.upgrade"], bench.root, env, fresh)
            )
            found.append(
                Probe("P2", "alembic upgrade head", lambda: alembic, bench.root, env, fresh)
            )
            floor = [sys.executable, "-c", startup_upgrade.ALEMBIC_WITH_INVOKE, *alembic[1:]]
            found.append(
                Probe("P2", "alembic, invoke imported", lambda: floor, bench.root, env, fresh)
            )
        if "P3" in figures:
            emails = (f"explain-{n}@example.com" for n in count())
            memory_kib, time_cost, parallelism = startup_create.password_parameters(bench)
            hash_once = [sys.executable, "-c", startup_create.HASH_ONCE, str(memory_kib)]
            hash_once += [str(time_cost), str(parallelism), BENCH_PASSWORD]
            create = ["users.create", "--password-env", "BENCH_PW", "--email"]
            found.append(
                Probe(
                    "P3",
                    "inv users.create",
                    lambda: [*inv, *create, next(emails)],
                    bench.root,
                    env,
                    migrated,
                )
            )
            found.append(
                Probe(
                    "P3", "inv db.current", lambda: [*inv, "db.current"], bench.root, env, migrated
                )
            )
            found.append(
                Probe("P3", "python: one argon2id hash", lambda: hash_once, bench.root, env)
            )
            imports = [sys.executable, "-c", startup_create.P3_IMPORT_FLOOR]
            found.append(Probe("P3", "python: the import floor", lambda: imports, bench.root, env))
    return found


def explain(bench: Bench, figures: set[str]) -> tuple[str, list[dict[str, Any]]]:
    chosen = probes(bench, figures)
    if not chosen:
        return "", []
    bench.progress(f"--explain: {len(chosen)} commands, 3 runs + 3 under -X importtime each")
    floor = median(
        [
            run([sys.executable, "-c", "pass"], cwd=bench.root, env=child_env()).seconds
            for _ in range(5)
        ]
    )
    rows = [measure(probe) for probe in chosen]
    lines = [
        "Where the time goes: medians of 3 plain runs, and of 3 under -X importtime (import time",
        f"per library, the stdlib modules it pulls in included; top {TOP}). rest = wall - imports:",
        f"interpreter start-up (`python -c pass`: {floor * 1000:.0f} ms) and the work itself.",
        "",
    ]
    width = max(len(row["command"]) for row in rows)
    for row in rows:
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in row["packages_ms"].items())
        lines.append(
            f"{row['figure']}  {row['command']:<{width}}  wall {row['wall_ms']:6.0f} ms  "
            f"imports {row['imports_ms']:6.0f} ms  rest {row['rest_ms']:6.0f} ms   [{top}]"
        )
    return "\n".join(lines), rows
