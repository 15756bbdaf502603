"""P1-P3: whole-process timings of ``inv`` against the smallest process doing the same work.

What the three figures share: a scratch SQLite file's URL and removal, and the result of
comparing two sides' runs (medians, with the fastest runs and CPU time as second opinions).
Each figure is its own module: P1 ``bench.startup_tasks``, P2 ``bench.startup_upgrade``, P3
``bench.startup_create``.
"""

from __future__ import annotations

from pathlib import Path

from bench.measure import Run, median, ms
from bench.report import Result


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
