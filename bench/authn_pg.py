"""P4 on PostgreSQL: ``authenticate`` in process against bare asyncpg doing the same lookup.

The limit is the driver itself, measured in the same run on the same table: asyncpg alone
running the SQL ``authenticate`` runs (compiled from the same query), on one connection for the
serial figure and on 8 connections with a caller each for the concurrent one. ``authenticate``
runs as an application runs it: one ServiceContext for the whole process, its 2,000 keys used
once before the timings start, 8 callers sharing the context for the concurrent figure. Both
sides use the settings of a deployment that connects directly (statement cache on).

Through PgBouncer in transaction mode both sides run with the caches off, as they must there
(the project's default): asyncpg prepares an unnamed statement for every lookup. The pooler
gets as many server connections as the callers, so it measures the cure, not a queue.

Every side runs in chunks; the chunks take turns (the order rotates each round), so the
machine's noise falls on all sides alike; each side's rate is the median of its chunks.

The databases come from ``bench.authn_pg_seed``, the two sides from ``bench.authn_pg_sides`` and
one database's timings from ``bench.authn_pg_measure``; this module runs every size and reports.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import pg
from bench.authn_pg_measure import CALLERS, Writes, time_database
from bench.authn_pg_seed import seed
from bench.authn_pg_sides import Side
from bench.context import Bench
from bench.measure import median
from bench.report import Result

TARGET = 0.5
SIZES = (100_000, 1_000_000)


def _ratio(app: Side, bare: Side) -> float:
    return app.rate / bare.rate


def _paired(app: Side, bare: Side) -> float:
    """The median of the per-round ratios: a second opinion that drift cannot bias."""
    return median([a / b for a, b in zip(app.rates, bare.rates, strict=True)])


def _vs(
    what: str, app: Side, bare: Side, *, against: str, details: dict[str, Any] | None = None
) -> Result:
    ratio = _ratio(app, bare)
    return Result(
        figure="P4-PG",
        what=what,
        target=f">= {TARGET:.2f}x {against}",
        measured=(
            f"{ratio:.2f}x ({app.rate:,.0f}/s vs {bare.rate:,.0f}/s; "
            f"per round {_paired(app, bare):.2f}x)"
        ),
        met=ratio >= TARGET,
        value=round(ratio, 3),
        limit=TARGET,
        details={
            "app_rates": [round(r) for r in app.rates],
            "bare_rates": [round(r) for r in bare.rates],
            "paired_ratio": round(_paired(app, bare), 3),
        }
        | (details or {}),
    )


WHATS = [
    "authenticate, 100k keys, 1 caller",
    f"authenticate, 100k keys, {CALLERS} callers",
    "authenticate, 1M keys, 1 caller",
    f"authenticate, 1M keys, {CALLERS} callers",
    "last_used_at writes (PostgreSQL)",
    "via PgBouncer (caches off), 1 caller",
    f"via PgBouncer (caches off), {CALLERS} callers",
    "direct (cache on) / via PgBouncer",
]


def p4_pg(bench: Bench) -> list[Result]:
    url = pg.server_url()
    if url is None:
        return pg.skipped("P4-PG", WHATS)
    sizes = SIZES[:1] if bench.quick else SIZES
    rounds = bench.reps(9, quick=3)
    missing = pg.pgbouncer_missing()
    results: list[Result] = []
    writes = Writes()
    with pg.server(bench, url) as server:
        seeded = seed(bench, server, sizes)
        measured: dict[int, dict[str, Side]] = {}
        for each in seeded:
            with_pooler = each.keys == sizes[0] and missing is None
            bench.progress(
                f"P4-PG authenticate vs bare asyncpg at {each.keys:,} keys: {rounds} rounds"
                + (" (also through PgBouncer)" if with_pooler else "")
            )
            if with_pooler:
                with pg.pgbouncer(bench, url, pool_size=CALLERS) as pooled:
                    measured[each.keys] = asyncio.run(
                        time_database(
                            bench, url, each, rounds=rounds, pooled_url=pooled, writes=writes
                        )
                    )
            else:
                measured[each.keys] = asyncio.run(
                    time_database(bench, url, each, rounds=rounds, pooled_url=None, writes=writes)
                )
    for keys, label in ((100_000, "100k"), (1_000_000, "1M")):
        sides = measured.get(keys)
        if sides is None:
            results += [
                Result("P4-PG", f"authenticate, {label} keys, {n}", "-", "not run (--quick)", None)
                for n in ("1 caller", f"{CALLERS} callers")
            ]
            continue
        results.append(
            _vs(
                f"authenticate, {label} keys, 1 caller",
                sides["app 1"],
                sides["bare 1"],
                against="bare asyncpg",
            )
        )
        results.append(
            _vs(
                f"authenticate, {label} keys, {CALLERS} callers",
                sides[f"app {CALLERS}"],
                sides[f"bare {CALLERS}"],
                against=f"asyncpg, {CALLERS} conns",
            )
        )
    results.append(
        Result(
            figure="P4-PG",
            what="last_used_at writes (PostgreSQL)",
            target="not one per verification",
            measured=(
                f"{writes.first_use:,} UPDATEs for {writes.first_uses:,} first uses "
                f"({writes.recorded:,} recorded); {writes.repeats} in {writes.timed:,} repeats"
            ),
            met=writes.repeats == 0
            and writes.first_use <= writes.first_uses
            and writes.recorded == writes.first_uses,
            details=vars(writes),
        )
    )
    small = measured[sizes[0]]
    if "pooled app 1" not in small:
        return results + pg.skipped("P4-PG", WHATS[5:], f"skipped: {missing}")
    results.append(
        _vs(
            "via PgBouncer (caches off), 1 caller",
            small["pooled app 1"],
            small["pooled bare 1"],
            against="asyncpg, no cache",
        )
    )
    results.append(
        _vs(
            f"via PgBouncer (caches off), {CALLERS} callers",
            small[f"pooled app {CALLERS}"],
            small[f"pooled bare {CALLERS}"],
            against="asyncpg, no cache",
        )
    )
    serial = _ratio(small["app 1"], small["pooled app 1"])
    concurrent = _ratio(small[f"app {CALLERS}"], small[f"pooled app {CALLERS}"])
    results.append(
        Result(
            figure="P4-PG",
            what="direct (cache on) / via PgBouncer",
            target="(reported)",
            measured=(
                f"{serial:.2f}x serially ({small['app 1'].rate:,.0f}/s vs "
                f"{small['pooled app 1'].rate:,.0f}/s), {concurrent:.2f}x with {CALLERS} callers"
            ),
            met=None,
            value=round(serial, 3),
            details={"serial": round(serial, 3), "concurrent": round(concurrent, 3)},
        )
    )
    return results
