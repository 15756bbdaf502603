"""The property-based sweep's parts: which tasks exist, what to type at them, and what must hold.

The tasks and their flags come from the collection the CLI ships (``build_namespace``), so a new
task or flag is swept without touching this file. The tables below only make some values
realistic enough (an existing email, a key id, a valid API key) to reach past validation into
the services; every argument also gets hostile values: empty, 10k characters, RTL and combining
marks, emoji, control characters (NUL included: ``Program.run`` in-process accepts what ``execve``
would refuse), numbers that overflow, durations and emails and ids that are nearly right.
"""

from tests.hardening.sweep.cases import Case, cases
from tests.hardening.sweep.checks import STATS, environment, report, violations
from tests.hardening.sweep.runs import SWEEP_ENV, Seed, TaskSpec, discover_tasks, run_cli, seed
from tests.hardening.sweep.targets import PostgresTarget, SqliteTarget

__all__ = [
    "STATS",
    "SWEEP_ENV",
    "Case",
    "PostgresTarget",
    "Seed",
    "SqliteTarget",
    "TaskSpec",
    "cases",
    "discover_tasks",
    "environment",
    "report",
    "run_cli",
    "seed",
    "violations",
]
