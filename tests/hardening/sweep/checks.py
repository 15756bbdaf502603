"""What must hold after every run of the sweep, and how a failure is reported."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tests.hardening.sweep.cases import Case
from tests.hardening.sweep.runs import (
    CONFIGURED_SECRETS,
    DOCUMENTED_EXIT_CODES,
    NEVER_PRINTED,
    RAW_KEY,
    Result,
    Seed,
)

# -- what must hold after every run ---------------------------------------------------------------


@dataclass
class Stats:
    """How many cases ran, per engine, and how they ended."""

    cases: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[int]] = field(default_factory=dict)
    tasks: dict[str, set[str]] = field(default_factory=dict)
    restores: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, engine: str, case: Case, code: int) -> None:
        self.cases[engine] += 1
        self.codes.setdefault(engine, Counter())[code] += 1
        self.tasks.setdefault(engine, set()).add(case.task)

    def summary(self) -> list[str]:
        lines = []
        for engine, count in sorted(self.cases.items()):
            codes = ", ".join(f"{c}: {n}" for c, n in sorted(self.codes[engine].items()))
            lines.append(
                f"property sweep on {engine}: {count} cases over {len(self.tasks[engine])} "
                f"tasks in {self.seconds.get(engine, 0.0):.1f} s (exit codes {codes}; database "
                f"restored after {self.restores[engine]} successful changes)"
            )
        return lines


STATS = Stats()


def shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"...({len(text)} chars)"


def violations(
    case: Case,
    result: Result,
    *,
    bytes_same: bool,
    content_same: bool,
    seed: Seed,
) -> list[str]:
    """Everything wrong with one run; empty when the contract held."""
    found = []
    code, out, err = result.code, result.stdout, result.stderr
    if code not in DOCUMENTED_EXIT_CODES:
        found.append(f"exit {code} is not a documented exit code")
    if "Traceback" in out + err:
        found.append("a traceback was printed")
    if result.parse_error is not None:
        if (code, err, out) != (1, result.parse_error + "\n", ""):
            found.append(f"invoke's parse error {result.parse_error!r} not reported as invoke does")
    else:
        found += _contract(case, result)
    if code != 0 and not content_same:
        found.append("the run failed but changed the database")
    elif code != 0 and not bytes_same:
        found.append("the run failed and left the same rows, but not the same bytes")
    typed = "\0".join(case.argv)
    secrets = [*NEVER_PRINTED, *seed.secrets]
    if "--show-secrets" not in case.argv:
        secrets += CONFIGURED_SECRETS
    for secret in secrets:
        if secret not in typed and secret in out + err:
            found.append(f"a secret was printed: {secret[:6]}...")
    for key in RAW_KEY.findall(err):
        if key not in typed:
            found.append("an API key was printed on stderr")
    if len([k for k in RAW_KEY.findall(out) if k not in typed]) > 1:
        found.append("more than one API key was printed")
    return found


def _contract(case: Case, result: Result) -> list[str]:
    """The task ran (invoke accepted the argv): exit code, error line, output format."""
    found = []
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    if result.code != 0:
        if len(errors) != 1:
            found.append(f"a failure must print exactly one 'error: ' line, got {len(errors)}")
        elif lines[-1] != errors[0]:
            found.append("something was printed after the error line")
        for line in errors:
            if not line.isprintable():
                found.append("the error line contains unprintable characters")
            if len(line) > 1000:
                found.append("the error line is longer than 1000 characters")
            if "unexpected failure" in line:
                found.append("generated input caused an unexpected failure")
        if result.code == 1:
            found.append("exit 1 (unexpected failure) for input invoke accepted")
    elif errors:
        found.append("exit 0 with an error line")
    if "\x1b" in result.stdout + result.stderr or "\x00" in result.stdout + result.stderr:
        found.append("a control character reached the terminal")
    if result.code == 0 and case.json:
        printed = [line for line in result.stdout.splitlines() if line.strip()]
        if len(printed) != 1:
            found.append(f"--json printed {len(printed)} lines, not one JSON value")
        else:
            try:
                json.loads(printed[0])
            except ValueError:
                found.append("--json printed something that is not JSON")
    return found


def report(case: Case, result: Result, found: list[str]) -> str:
    return (
        f"{'; '.join(found)}\n{case!r}\n[exit {result.code}]\n"
        f"--- stdout\n{shorten(result.stdout)}\n--- stderr\n{shorten(result.stderr)}"
    )


@contextlib.contextmanager
def environment(env: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) variables for a block: session fixtures cannot monkeypatch."""
    saved = {name: os.environ.get(name) for name in env}
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
