"""``python -m bench [--quick] [--only P1,P4] [--json PATH] [--explain]``: measure, then print."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    authn,
    authn_pg,
    bulk,
    importtime,
    listing,
    report,
    seeding,
    startup_create,
    startup_tasks,
    startup_upgrade,
)
from bench.context import CHECKOUT, Bench
from bench.report import Result

FIGURES: dict[str, Callable[[Bench], list[Result]]] = {
    "P1": startup_tasks.p1,
    "P2": startup_upgrade.p2,
    "P3": startup_create.p3,
    "P4": authn.p4,
    "P4-PG": authn_pg.p4_pg,
    "P5": listing.p5,
    "P5-PG": listing.p5_pg,
    "P6": seeding.p6,
    "BULK": bulk.bulk,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the performance targets P1-P6 (README, Performance) side by side.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions, and no 1M-key database (P4)"
    )
    parser.add_argument(
        "--only", default="", metavar="P1,P4", help="measure only these figures (default: all)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--reps", type=int, metavar="N", help="repetitions per side (overrides the defaults)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also break P1-P3's commands down into imports and the rest (-X importtime)",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - FIGURES.keys())
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    args.figures = [name for name in FIGURES if not chosen or name in chosen]
    if args.reps is not None and args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def measure(bench: Bench, name: str) -> list[Result]:
    print(f"{name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        results = FIGURES[name](bench)
    except Exception as error:
        traceback.print_exc()
        return [Result(name, "(failed)", "-", f"error: {type(error).__name__}: {error}", False)]
    bench.progress(f"{name} done in {time.perf_counter() - started:.0f} s")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    # In-process figures read settings like the tasks do; the shell's APP_* must not skew them.
    for key in [key for key in os.environ if key.startswith("APP_")]:
        del os.environ[key]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_start = report.load()
    clock = time.perf_counter()
    results: list[Result] = []
    explained = ""
    explain_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="backend-bench-") as work:
        bench = Bench(
            root=CHECKOUT,
            work=Path(work),
            cache=CHECKOUT / "var" / "bench",
            quick=args.quick,
            reps_override=args.reps,
        )
        for name in args.figures:
            results += measure(bench, name)
        if args.explain:
            explained, explain_rows = importtime.explain(bench, set(args.figures))
    seconds = time.perf_counter() - clock
    load_end = report.load()
    notes = [
        f"load average at end: {' '.join(f'{x:.2f}' for x in load_end)}; run took {seconds:.0f} s",
        "ratios are medians of alternating runs (A/B); whole-process timings for P1-P3 and P5, "
        "in process for P4 and P6",
    ]
    print(report.header(command, started, load_start))
    print()
    print(report.table(results))
    print()
    for note in notes:
        print(note)
    if explained:
        print()
        print(explained)
    if args.json:
        report.write_json(
            args.json,
            command=command,
            started=started,
            seconds=seconds,
            load_start=load_start,
            load_end=load_end,
            quick=args.quick,
            results=results,
            notes=notes,
            explain=explain_rows,
        )
        print(f"\nwrote {args.json}", file=sys.stderr)
    failed = any(r.what == "(failed)" for r in results)
    return 1 if failed else 0
