"""Results: one row per figure, printed as a Markdown table (it goes into the README) or JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One line of the table.

    ``met`` is None for a figure that was not measured this run (``--quick``) or is
    informational only. ``value`` and ``limit`` are the numbers behind ``measured``/``target``.
    """

    figure: str
    what: str
    target: str
    measured: str
    met: bool | None
    value: float | None = None
    limit: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "-"}[self.met]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def load() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def header(command: str, started: str, load_start: tuple[float, ...]) -> str:
    info = machine()
    loads = " ".join(f"{x:.2f}" for x in load_start)
    return (
        f"backend benchmark · {started} · Python {info['python']} · {info['cpus']} CPUs\n"
        f"command: {command}\n"
        f"load average (1/5/15 min) at start: {loads}"
    )


def table(results: Sequence[Result]) -> str:
    rows = [["#", "what", "target", "measured", "result"]]
    rows += [[r.figure, r.what, r.target, r.measured, r.verdict] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def write_json(
    path: Path,
    *,
    command: str,
    started: str,
    seconds: float,
    load_start: tuple[float, ...],
    load_end: tuple[float, ...],
    quick: bool,
    results: Sequence[Result],
    notes: Sequence[str],
    explain: Sequence[dict[str, Any]] = (),
) -> None:
    document = {
        "command": command,
        "started": started,
        "duration_s": round(seconds, 1),
        "quick": quick,
        "machine": machine(),
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "results": [asdict(r) | {"verdict": r.verdict.strip("*")} for r in results],
        "notes": list(notes),
        "explain": list(explain),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
