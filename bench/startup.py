"""P1-P3: whole-process timings of ``inv`` against the smallest process doing the same work."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.measure import (
    Run,
    child_env,
    in_turns,
    median,
    ms,
    run,
    side_by_side,
    venv_script,
)
from bench.report import Result

P1_TARGET = 1.15
P2_TARGET = 1.05
P3_TARGET = 1.0
P3_FLOOR_TARGET = 1.12
P3_RSS_HEADROOM_MIB = 60
BENCH_PASSWORD = "correct-horse-battery-staple-bench"  # noqa: S105 (a throwaway test user's)

# The baseline's "one hash at the configured parameters": nothing but passlib and the hash.
HASH_ONCE = """\
import sys
from passlib.context import CryptContext
m, t, p = (int(x) for x in sys.argv[1:4])
CryptContext(
    schemes=["argon2"], argon2__type="ID", argon2__memory_cost=m, argon2__rounds=t,
    argon2__parallelism=p,
).hash(sys.argv[4])
"""


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def ratio_result(
    figure: str,
    what: str,
    a: list[Run],
    b: list[Run],
    *,
    limit: float,
    a_name: str,
    b_name: str,
) -> Result:
    a_med = median([r.seconds for r in a])
    b_med = median([r.seconds for r in b])
    ratio = a_med / b_med
    # Noise only ever adds time, so the ratio of the fastest runs is a useful second opinion.
    fastest = min(r.seconds for r in a) / min(r.seconds for r in b)
    # CPU time, which a loaded machine inflates far less than wall time: a third opinion.
    cpu = median([r.cpu_seconds for r in a]) / median([r.cpu_seconds for r in b])
    return Result(
        figure=figure,
        what=what,
        target=f"<= {limit:.2f}x",
        measured=(
            f"{ratio:.2f}x ({ms(a_med)} vs {ms(b_med)}; fastest {fastest:.2f}x, cpu {cpu:.2f}x)"
        ),
        met=ratio <= limit,
        value=round(ratio, 3),
        limit=limit,
        details={
            "a": a_name,
            "b": b_name,
            "fastest_ratio": round(fastest, 3),
            "cpu_ratio": round(cpu, 3),
            "a_median_s": round(a_med, 4),
            "b_median_s": round(b_med, 4),
            "a_runs_s": [round(r.seconds, 4) for r in a],
            "b_runs_s": [round(r.seconds, 4) for r in b],
            "a_max_rss_mib": round(median([r.max_rss_mib for r in a]), 1),
            "b_max_rss_mib": round(median([r.max_rss_mib for r in b]), 1),
        },
    )


# -- P1: `inv --list` and `inv --help users.create` -----------------------------------------------


def _shape(listing: dict[str, Any]) -> tuple[int, int]:
    """(tasks, namespaces) in an ``inv --list --list-format=json`` document, nested ones too."""
    tasks = len(listing.get("tasks", []))
    namespaces = 0
    for sub in listing.get("collections", []):
        sub_tasks, sub_namespaces = _shape(sub)
        tasks += sub_tasks
        namespaces += 1 + sub_namespaces
    return tasks, namespaces


def _real_listing(bench: Bench) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        [*venv_script("inv"), "--list", "--list-format=json"],
        cwd=bench.root,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    listing: dict[str, Any] = json.loads(done.stdout)
    return listing


def _task_source(ident: str, task: Any) -> str:
    """A do-nothing task with the same flags, defaults, help and docstring as ``task``."""
    params = ["c"]
    for param in task.argspec(task.body).parameters.values():
        default = param.default
        params.append(param.name if default is param.empty else f"{param.name}={default!r}")
    doc = (task.body.__doc__ or "").strip()
    options = f"help={dict(task.help)!r}, iterable={list(task.iterable)!r}, auto_shortflags=False"
    return f"@task({options})\ndef {ident}({', '.join(params)}):\n    {doc!r}\n"


def _collection_source(collection: Any, var: str, ids: Iterator[int]) -> list[str]:
    lines: list[str] = []
    adds: list[str] = []
    for name, task in collection.tasks.items():
        ident = f"t{next(ids)}"
        lines.append(_task_source(ident, task))
        adds.append(f"{var}.add_task({ident}, name={name!r})")
    for name, sub in collection.collections.items():
        sub_var = f"c{next(ids)}"
        lines.extend(_collection_source(sub, sub_var, ids))
        adds.append(f"{sub_var}.__doc__ = {(sub.__doc__ or '').strip()!r}")
        adds.append(f"{var}.add_collection({sub_var}, name={name!r})")
    header = f"{var} = Collection()" if var == "ns" else f"{var} = Collection({var!r})"
    return [*lines, header, *adds, ""]


def write_trivial_collection(bench: Bench, folder: Path) -> dict[str, Any]:
    """A tasks.py of do-nothing tasks with the real collection's shape, for bare invoke.

    The shape (tasks, namespaces) is counted from the real ``inv --list --list-format=json``;
    each stand-in task copies its original's flags and help, so ``--help`` prints as much.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_real_tasks", bench.root / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = "\n".join(
        [
            '"""A trivial collection of the same size as the project\'s, for the benchmark."""',
            "from invoke import Collection, task",
            "",
            *_collection_source(module.ns, "ns", count()),
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tasks.py").write_text(source)
    real = _shape(_real_listing(bench))
    done = subprocess.run(  # noqa: S603
        [*venv_script("inv"), "--list", "--list-format=json"],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    trivial = _shape(json.loads(done.stdout))
    if real != trivial:
        raise RuntimeError(f"the trivial collection has {trivial} (tasks, namespaces), not {real}")
    return {"tasks": real[0], "namespaces": real[1]}


def p1(bench: Bench) -> list[Result]:
    trivial = bench.work / "trivial"
    shape = write_trivial_collection(bench, trivial)
    inv = venv_script("inv")
    env = child_env()
    reps = bench.reps(21, quick=7)
    results = []
    for what, args in (
        ("inv --list", ["--list"]),
        ("inv --help users.create", ["--help", "users.create"]),
    ):
        bench.progress(f"P1 {what}: {reps} runs each side")
        a, b = side_by_side(
            functools.partial(run, [*inv, *args], cwd=bench.root, env=env),
            functools.partial(run, [*inv, *args], cwd=trivial, env=env),
            reps=reps,
        )
        result = ratio_result(
            "P1",
            what,
            a,
            b,
            limit=P1_TARGET,
            a_name=f"{what} in the checkout",
            b_name=f"{what} on a trivial tasks.py with {shape['tasks']} tasks in "
            f"{shape['namespaces']} namespaces",
        )
        result.details["shape"] = shape
        results.append(result)
    return results


# What `inv users.create` cannot do without: importing the stack it needs, and nothing else.
P3_IMPORT_FLOOR = (
    "import invoke.main, sqlalchemy.ext.asyncio, sqlalchemy.orm, pydantic_settings, aiosqlite, "
    "argon2"
)
# `alembic upgrade head` as the inv side would run it at best: invoke imported first.
ALEMBIC_WITH_INVOKE = """\
import sys
import invoke.main
from alembic.config import main
main(argv=sys.argv[1:], prog="alembic")
"""


# -- P2: `inv db.upgrade` vs `alembic upgrade head` -----------------------------------------------


def p2(bench: Bench) -> list[Result]:
    database = bench.work / "p2.sqlite"
    env = child_env({"APP_DATABASE_URL": sqlite_url(database)})
    inv = [*venv_script("inv"), "db.upgrade"]
    alembic = [*venv_script("alembic"), "-c", "alembic.ini", "upgrade", "head"]

    def fresh(argv: list[str]) -> Callable[[], Run]:
        def once() -> Run:
            remove_database(database)
            result = run(argv, cwd=bench.root, env=env)
            if not database.exists():
                raise RuntimeError(f"`{' '.join(argv)}` did not create {database}")
            return result

        return once

    # The floor: alembic's own CLI after importing invoke, which no `inv` can avoid.
    floor = [sys.executable, "-c", ALEMBIC_WITH_INVOKE, "-c", "alembic.ini", "upgrade", "head"]
    reps = bench.reps(9)
    bench.progress(f"P2 db.upgrade on a fresh SQLite file: {reps} runs each of 3 sides")
    a, b, c = in_turns([fresh(inv), fresh(alembic), fresh(floor)], reps=reps)
    remove_database(database)
    main = ratio_result(
        "P2",
        "inv db.upgrade (fresh SQLite)",
        a,
        b,
        limit=P2_TARGET,
        a_name="inv db.upgrade",
        b_name="alembic -c alembic.ini upgrade head",
    )
    floor_ratio = median([r.seconds for r in c]) / median([r.seconds for r in b])
    ours = median([r.seconds for r in a]) / median([r.seconds for r in c])
    explained = Result(
        figure="P2",
        what="(split) alembic with invoke imported",
        target="(reported)",
        measured=(
            f"{floor_ratio:.2f}x alembic ({ms(median([r.seconds for r in c]))}): invoke's import "
            f"alone; inv db.upgrade is {ours:.2f}x that"
        ),
        met=None,
        value=round(floor_ratio, 3),
        details={
            "floor_runs_s": [round(r.seconds, 4) for r in c],
            "inv_over_floor": round(ours, 3),
        },
    )
    return [main, explained]


# -- P3: `inv users.create` vs `inv db.current` + one hash ----------------------------------------


def password_parameters(bench: Bench) -> tuple[int, int, int]:
    """argon2id memory (KiB), time cost and parallelism as the dev profile configures them."""
    from backend.app.core.config import load_from_files

    policy = load_from_files(bench.root).settings.passwords
    return policy.argon2_memory_kib, policy.argon2_time_cost, policy.argon2_parallelism


def p3(bench: Bench) -> list[Result]:
    database = bench.work / "p3.sqlite"
    remove_database(database)
    env = child_env({"APP_DATABASE_URL": sqlite_url(database), "BENCH_PW": BENCH_PASSWORD})
    inv = venv_script("inv")
    run([*inv, "db.upgrade"], cwd=bench.root, env=env)
    memory_kib, time_cost, parallelism = password_parameters(bench)
    emails = (f"bench-{n}@example.com" for n in count())
    hash_once = [
        sys.executable,
        "-c",
        HASH_ONCE,
        str(memory_kib),
        str(time_cost),
        str(parallelism),
        BENCH_PASSWORD,
    ]
    baseline_parts: list[tuple[Run, Run]] = []

    def create() -> Run:
        argv = [*inv, "users.create", "--email", next(emails), "--password-env", "BENCH_PW"]
        return run(argv, cwd=bench.root, env=env)

    def baseline() -> Run:
        current = run([*inv, "db.current"], cwd=bench.root, env=env)
        hashed = run(hash_once, cwd=bench.root, env=env)
        baseline_parts.append((current, hashed))
        return Run(
            current.seconds + hashed.seconds,
            max(current.max_rss_mib, hashed.max_rss_mib),
            current.cpu_seconds + hashed.cpu_seconds,
        )

    floor_argv = [sys.executable, "-c", P3_IMPORT_FLOOR]

    def floor() -> Run:
        return run(floor_argv, cwd=bench.root, env=env)

    reps = bench.reps(9)
    bench.progress(
        f"P3 users.create vs db.current + one hash, and vs the import floor: {reps} runs each"
    )
    a, b, c = in_turns([create, baseline, floor], reps=reps)
    remove_database(database)
    timing = ratio_result(
        "P3",
        "inv users.create (one argon2id hash)",
        a,
        b,
        limit=P3_TARGET,
        a_name="inv users.create --email E --password-env BENCH_PW",
        b_name="inv db.current, then python hashing once (sum of the two processes)",
    )
    parts = baseline_parts[-reps:]
    timing.details["db_current_median_s"] = round(median([c.seconds for c, _ in parts]), 4)
    timing.details["hash_once_median_s"] = round(median([h.seconds for _, h in parts]), 4)
    timing.details["argon2"] = {"memory_kib": memory_kib, "t": time_cost, "p": parallelism}
    timing.measured += (
        f"; B: db.current {ms(timing.details['db_current_median_s'])}"
        f", hash {ms(timing.details['hash_once_median_s'])}"
    )
    rss = median([r.max_rss_mib for r in a])
    limit = memory_kib / 1024 + P3_RSS_HEADROOM_MIB
    memory = Result(
        figure="P3",
        what="peak RSS of inv users.create",
        target=f"<= {limit:.0f} MiB (argon2 {memory_kib / 1024:.0f} MiB + 60)",
        measured=f"{rss:.1f} MiB (db.current alone "
        f"{median([c.max_rss_mib for c, _ in parts]):.1f} MiB)",
        met=rss <= limit,
        value=round(rss, 1),
        limit=round(limit, 1),
        details={
            "runs_mib": [round(r.max_rss_mib, 1) for r in a],
            "db_current_mib": round(median([c.max_rss_mib for c, _ in parts]), 1),
            "hash_once_mib": round(median([h.max_rss_mib for _, h in parts]), 1),
        },
    )
    against_floor = ratio_result(
        "P3",
        "inv users.create / its import floor",
        a,
        c,
        limit=P3_FLOOR_TARGET,
        a_name="inv users.create --email E --password-env BENCH_PW",
        b_name=f"python -c '{P3_IMPORT_FLOOR}'",
    )
    return [timing, against_floor, memory]
