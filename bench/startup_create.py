"""P3: ``inv users.create`` against ``inv db.current`` plus one process hashing once.

The baseline is the two processes' times added: the start-up and database work of a task, and
one argon2id hash at the configured parameters with nothing but passlib. ``users.create`` is
also compared with its import floor (the stack it needs, imported and nothing done), and its
peak RSS with the argon2 memory cost plus a headroom.

``inv`` pauses CPython's garbage collector while a task loads its stack (see
``backend.app.core.collector``); the plain floor pays for the collections Python runs on the way.
So the same imports with the collector paused are measured too and reported beside the figure:
what is left between that and ``users.create`` is the command's own work.
"""

from __future__ import annotations

import sys
from itertools import count

from bench.context import Bench
from bench.measure import Run, child_env, in_turns, median, ms, run, venv_script
from bench.report import Result
from bench.rows import BENCH_PASSWORD
from bench.startup import ratio_result, remove_database, sqlite_url

P3_TARGET = 1.0
P3_FLOOR_TARGET = 1.12
P3_RSS_HEADROOM_MIB = 60

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

# What `inv users.create` cannot do without: importing the stack it needs, and nothing else.
P3_IMPORT_FLOOR = (
    "import invoke.main, sqlalchemy.ext.asyncio, sqlalchemy.orm, pydantic_settings, aiosqlite, "
    "argon2"
)
P3_IMPORT_FLOOR_PAUSED = "import gc; gc.disable(); " + P3_IMPORT_FLOOR


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

    def floor() -> Run:
        return run([sys.executable, "-c", P3_IMPORT_FLOOR], cwd=bench.root, env=env)

    def floor_paused() -> Run:
        return run([sys.executable, "-c", P3_IMPORT_FLOOR_PAUSED], cwd=bench.root, env=env)

    reps = bench.reps(9)
    bench.progress(
        f"P3 users.create vs db.current + one hash, and vs the import floor: {reps} runs each"
    )
    a, b, c, d = in_turns([create, baseline, floor, floor_paused], reps=reps)
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
    paused = median([r.seconds for r in d])
    over_paused = median([r.seconds for r in a]) / paused
    collections = median([r.seconds for r in c]) - paused
    split = Result(
        figure="P3",
        what="(split) the import floor, collector paused",
        target="(reported)",
        measured=(
            f"{ms(paused)}: the collector's share of the floor {ms(collections)}; "
            f"inv users.create is {over_paused:.2f}x this"
        ),
        met=None,
        value=round(over_paused, 3),
        details={
            "floor_paused_runs_s": [round(r.seconds, 4) for r in d],
            "collections_s": round(collections, 4),
        },
    )
    return [timing, against_floor, split, memory]
