"""P2: ``inv db.upgrade`` against ``alembic upgrade head``, each on a fresh SQLite file.

A third side, alembic's own CLI run after importing invoke, is the floor no ``inv`` can go
under; it is reported beside the figure to split the difference into invoke's import and ours.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.context import Bench
from bench.measure import Run, child_env, in_turns, median, ms, run, venv_script
from bench.report import Result
from bench.startup import ratio_result, remove_database, sqlite_url

P2_TARGET = 1.05

# `alembic upgrade head` as the inv side would run it at best: invoke imported first.
ALEMBIC_WITH_INVOKE = """\
import sys
import invoke.main
from alembic.config import main
main(argv=sys.argv[1:], prog="alembic")
"""


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
