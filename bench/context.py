"""What every figure needs: where the checkout is, scratch space, the cache, and the run's pace."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    root: Path  # the checkout: commands run here, as a developer types them
    work: Path  # scratch space for this run, removed afterwards
    cache: Path  # seeded databases kept between runs (var/bench/, gitignored)
    quick: bool
    reps_override: int | None = None

    def reps(self, full: int, quick: int = 3) -> int:
        """Repetitions per side: ``full`` normally, ``quick`` with --quick, or --reps."""
        if self.reps_override is not None:
            return self.reps_override
        return quick if self.quick else full

    def progress(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)
