"""What a CI run reports: each step's outcome, the counts of its test suites, the summary.

Kept apart from :mod:`devtools.ci` (the steps and how they run); standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from devtools.ci import Step


@dataclass
class Outcome:
    step: Step
    code: int | None = None
    seconds: float = 0.0
    log: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)


SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)\b")


def pytest_counts(lines: Sequence[str]) -> dict[str, int]:
    """The counts of pytest's closing lines, summed (a step may run pytest more than once, as
    the floors do), errors as failed."""
    counts: dict[str, int] = {}
    for line in lines:
        found = SUMMARY.findall(line)
        if found and re.search(r"\bin [\d.]+s\b", line):
            for number, word in found:
                key = "failed" if word.startswith("error") else word
                counts[key] = counts.get(key, 0) + int(number)
    return counts


def report(outcomes: Sequence[Outcome], seconds: float, out: IO[str]) -> None:
    """The closing summary: each step's status and time, then the suites' counts together."""
    lines = ["== ci summary"]
    for o in outcomes:
        status = "not run" if o.code is None else "ok" if o.code == 0 else f"FAILED ({o.code})"
        lines.append(f"{o.step.name:<12} {status:<12} {o.seconds:6.0f} s")
    lines.append(f"{'total':<12} {'':<12} {seconds:6.0f} s")
    totals: dict[str, int] = {}
    for o in outcomes:
        for key, number in o.counts.items():
            totals[key] = totals.get(key, 0) + number
    if totals:
        # One closing line for every suite the run started, in pytest's words.
        skipped = f", {totals['skipped']} skipped" if totals.get("skipped") else ""
        lines.append(
            f"ci: {totals.get('passed', 0)} passed, {totals.get('failed', 0)} failed{skipped}"
        )
    say(out, "\n".join(lines))


def say(out: IO[str], text: str) -> None:
    out.write(text + "\n")
    out.flush()
