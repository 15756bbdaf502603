"""BULK: the bad-day commands on a big database, with another writer running meanwhile.

A database of 1,000 users, 1M API keys (100k of them owned by one user, E) and 1M audit events
spread over the last two years: ``inv keys.revoke --user E --yes`` (100k keys),
``inv audit.list --since 1d`` and ``inv audit.prune --before 365d --yes`` (half the trail), each
timed from spawn to exit. During the revoke and the prune a second process (``bench.writer``)
writes small transactions back to back, as the application does meanwhile (``last_used_at`` of
one of E's keys, an audit event); its longest wait is the figure: on SQLite a command that held
the write lock for the busy timeout (5 s) would make it fail. ``audit.list`` is compared with
``inv db.current`` run alternately: the same start-up, without the query.

On SQLite always (the seeded file is cached in var/bench/ for the day: the trail is relative to
the day it was built); on PostgreSQL when a server is configured (seeded by COPY, dropped after).
The data comes from ``bench.bulk_data``, each engine's fresh copies from ``bench.bulk_targets``;
this module runs the commands beside the writer and reports.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from typing import Any

from bench import pg
from bench.bulk_data import OWNED, OWNER
from bench.bulk_targets import Target, pg_target, sqlite_target
from bench.context import Bench
from bench.measure import Run, child_env, median, ms, run, side_by_side, venv_script
from bench.report import Result

WAIT_LIMIT_S = 5.0  # the default busy timeout


def _with_writer(
    bench: Bench, argv: list[str], env: dict[str, str], engine: str, target: str
) -> tuple[Run, dict[str, Any]]:
    """Run ``argv`` while bench.writer writes to the same database; both results."""
    writer = subprocess.Popen(  # noqa: S603 (the bench's own writer)
        [sys.executable, "-m", "bench.writer", engine, target, str(OWNED)],
        cwd=bench.root,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # connected and writing before the command starts
        measured = run(argv, cwd=bench.root, env=env)
    finally:
        out, _ = writer.communicate("", timeout=60)
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return measured, summary


def _bulk(bench: Bench, target: Target, reps: int) -> None:
    inv = venv_script("inv")
    for rep in range(reps):
        url, writer_target, count = target.fresh(rep)
        env = child_env({"APP_DATABASE_URL": url})
        if rep == 0:
            listing = [*inv, "audit.list", "--since", "1d", "--json"]
            current = [*inv, "db.current"]
            a, b = side_by_side(
                functools.partial(run, listing, cwd=bench.root, env=env),
                functools.partial(run, current, cwd=bench.root, env=env),
                reps=bench.reps(5, quick=3),
            )
            target.runs["list"], target.runs["current"] = a, b
            target.counts["listed"] = _listed(bench, listing, env)
        for name, argv in (
            ("revoke", [*inv, "keys.revoke", "--user", OWNER, "--yes", "--json"]),
            ("prune", [*inv, "audit.prune", "--before", "365d", "--yes"]),
        ):
            measured, summary = _with_writer(bench, argv, env, target.engine, writer_target)
            target.runs.setdefault(name, []).append(measured)
            target.writers.setdefault(name, []).append(summary)
        target.counts.update(count())


def _listed(bench: Bench, argv: list[str], env: dict[str, str]) -> int:
    done = subprocess.run(  # noqa: S603
        argv, cwd=bench.root, env=env, capture_output=True, check=True, text=True
    )
    return len(json.loads(done.stdout))


def _results(target: Target) -> list[Result]:
    tag = "SQLite" if target.engine == "sqlite" else "PG"
    results = []
    revoked, pruned = target.counts.get("revoked", 0), target.counts.get("pruned", 0)
    for name, what, done in (
        ("revoke", f"keys.revoke --user E (100k keys), {tag}", revoked),
        ("prune", f"audit.prune --before 365d, {tag}", pruned),
    ):
        runs = target.runs[name]
        seconds = median([r.seconds for r in runs])
        writers = target.writers[name]
        failures = [w["failure"] for w in writers if w["failure"]]
        longest = max((w["longest_s"] or 0.0) for w in writers)
        transactions = sum(w["transactions"] for w in writers)
        measured = (
            f"{seconds:.1f} s ({done / seconds:,.0f} rows/s); other writer: "
            f"{transactions:,} txns, longest wait {ms(longest)}"
        )
        if failures:
            measured += f"; failed: {failures[0]}"
        results.append(
            Result(
                figure="BULK",
                what=what,
                target=f"other writer waits < {WAIT_LIMIT_S:.0f} s",
                measured=measured,
                met=not failures and longest < WAIT_LIMIT_S and done > 0,
                value=round(longest, 3),
                limit=WAIT_LIMIT_S,
                details={
                    "runs_s": [round(r.seconds, 3) for r in runs],
                    "rows": done,
                    "writers": writers,
                },
            )
        )
    listing = median([r.seconds for r in target.runs["list"]])
    current = median([r.seconds for r in target.runs["current"]])
    results.append(
        Result(
            figure="BULK",
            what=f"audit.list --since 1d (1M events), {tag}",
            target="(reported)",
            measured=(
                f"{ms(listing)} for {target.counts['listed']:,} events "
                f"(db.current {ms(current)}: {listing / current:.2f}x)"
            ),
            met=None,
            value=round(listing / current, 3),
            details={
                "list_runs_s": [round(r.seconds, 3) for r in target.runs["list"]],
                "current_runs_s": [round(r.seconds, 3) for r in target.runs["current"]],
            },
        )
    )
    return results


# -- the figure ------------------------------------------------------------------------------


WHATS = [
    "keys.revoke --user E (100k keys), PG",
    "audit.prune --before 365d, PG",
    "audit.list --since 1d (1M events), PG",
]


def bulk(bench: Bench) -> list[Result]:
    reps = bench.reps(3, quick=1)
    bench.progress(f"BULK revoke, list and prune on 1M keys and 1M events: {reps} run(s) each")
    sqlite = sqlite_target(bench)
    _bulk(bench, sqlite, reps)
    results = _results(sqlite)
    url = pg.server_url()
    if url is None:
        return results + pg.skipped("BULK", WHATS)
    with pg.server(bench, url) as server:
        target = pg_target(server)
        _bulk(bench, target, reps)
    return results + _results(target)
