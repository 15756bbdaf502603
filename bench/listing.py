"""P5: ``inv users.list --json`` over 100k users against the same over 1k, process by process,
on SQLite (P5) and on PostgreSQL (P5-PG, when a server is configured).

Each listing is its own child (stdout to /dev/null) so its peak RSS is its own. The streaming
rate is the marginal one: the 99k extra rows divided by the extra time, which leaves out the
start-up both runs pay; the whole-process rate is kept in the details.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import pg
from bench.context import Bench
from bench.measure import Run, child_env, median, ms, run, side_by_side, venv_script
from bench.report import Result
from bench.seed import seeded

SMALL = 1_000
BIG = 100_000
RATE_TARGET = 100_000
RSS_TARGET = 1.2


def _command() -> list[str]:
    return [*venv_script("inv"), "users.list", "--json"]


def _env(url: str) -> dict[str, str]:
    return child_env({"APP_DATABASE_URL": url})


def _sqlite(database: Path) -> str:
    return f"sqlite+aiosqlite:///{database}"


def _check_rows(bench: Bench, url: str, expected: int) -> None:
    done = subprocess.run(  # noqa: S603
        _command(), cwd=bench.root, env=_env(url), capture_output=True, check=False
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"users.list --json exited {done.returncode}: {' | '.join(tail)}")
    rows = json.loads(done.stdout)
    if len(rows) != expected:
        raise RuntimeError(f"users.list --json printed {len(rows)} rows, not {expected}")


def p5(bench: Bench) -> list[Result]:
    small_db = seeded(bench, users=SMALL)
    big_db = seeded(bench, users=BIG)
    return _figures(bench, "P5", _sqlite(small_db), _sqlite(big_db))


P5_PG_WHATS = ["users.list --json, 100k users (PG)", "peak RSS at 100k / at 1k users (PG)"]


def p5_pg(bench: Bench) -> list[Result]:
    url = pg.server_url()
    if url is None:
        return pg.skipped("P5-PG", P5_PG_WHATS)
    with pg.server(bench, url) as server:
        names = {}
        for count in (SMALL, BIG):
            name = names[count] = server.copy(f"users{count}")
            asyncio.run(_seed_pg(url, name, count))
        return _figures(
            bench, "P5-PG", pg.app_url(url, names[SMALL]), pg.app_url(url, names[BIG]), " (PG)"
        )


async def _seed_pg(url: str, name: str, count: int) -> None:
    async with pg.connected(url, name) as conn:
        await pg.copy_users(conn, count)
        await pg.analyze(conn)


def _figures(
    bench: Bench, figure: str, small_url: str, big_url: str, tag: str = ""
) -> list[Result]:
    _check_rows(bench, big_url, BIG)

    def listing(url: str) -> Callable[[], Run]:
        env = _env(url)
        return lambda: run(_command(), cwd=bench.root, env=env)

    reps = bench.reps(7)
    bench.progress(f"{figure} users.list --json over {BIG:,} vs {SMALL:,} users: {reps} runs each")
    listing(small_url)()  # warm-up; the row check above warmed the big one
    big, small = side_by_side(listing(big_url), listing(small_url), reps=reps, warmup=0)
    big_s = median([r.seconds for r in big])
    small_s = median([r.seconds for r in small])
    rate = (BIG - SMALL) / (big_s - small_s) if big_s > small_s else float("inf")
    big_rss = median([r.max_rss_mib for r in big])
    small_rss = median([r.max_rss_mib for r in small])
    rss_ratio = big_rss / small_rss
    return [
        Result(
            figure=figure,
            what=f"users.list --json, 100k users{tag}",
            target=f">= {RATE_TARGET:,} rows/s",
            measured=f"{rate:,.0f} rows/s ({ms(big_s)} vs {ms(small_s)} for 1k)",
            met=rate >= RATE_TARGET,
            value=round(rate),
            limit=RATE_TARGET,
            details={
                "whole_process_rows_per_s": round(BIG / big_s),
                "big_runs_s": [round(r.seconds, 4) for r in big],
                "small_runs_s": [round(r.seconds, 4) for r in small],
            },
        ),
        Result(
            figure=figure,
            what=f"peak RSS at 100k / at 1k users{tag}",
            target=f"<= {RSS_TARGET}x",
            measured=f"{rss_ratio:.2f}x ({big_rss:.1f} vs {small_rss:.1f} MiB)",
            met=rss_ratio <= RSS_TARGET,
            value=round(rss_ratio, 3),
            limit=RSS_TARGET,
            details={
                "big_rss_mib": [round(r.max_rss_mib, 1) for r in big],
                "small_rss_mib": [round(r.max_rss_mib, 1) for r in small],
            },
        ),
    ]
