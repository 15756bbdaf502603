"""The sweep's contract, environment and tasks: which tasks exist (read from the CLI's own
collection), how a case runs in process, and the seeded database it starts from."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from invoke.exceptions import ParseError

from backend.app.cli.__main__ import program

# -- what the contract allows ----------------------------------------------------------------------

DOCUMENTED_EXIT_CODES = frozenset(range(8))
# A generated key anywhere in the output (the checksum makes 38 characters after the prefix).
RAW_KEY = re.compile(r"\b[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{38}\b")

# -- the environment every sweep run gets ----------------------------------------------------------

PASSWORD = "sweep-env-password-Lm9cQ2"  # the seeded users' password, via --password-env
STDIN_PASSWORD = "sweep-stdin-password-Rt5bW8"
SWEEP_ENV = {
    "APP_ACTOR": "sweep",
    "APP_SECRET_KEY": "sweep-secret-key-Zq8vN3xT",
    "APP_ADMIN_PASSWORD": "sweep-admin-password-Kp4wE6",
    "APP_API_KEYS__PEPPER": "sweep-pepper-Yh2mR7uJ",
    "SWEEP_PASSWORD": PASSWORD,
    "SWEEP_SHORT": "short",
    "SWEEP_EMPTY": "",
    "SWEEP_HUGE": "h" * 10_000,
    "SWEEP_UNICODE": "pässwörd-🔑-שלום-e\u0301\u0302-long",
    "SWEEP_CONTROL": "pass\x01\x1b[2Jword-long-enough",
}
# Values that must never be printed, unless the argv itself carries them (or --show-secrets).
CONFIGURED_SECRETS = (
    SWEEP_ENV["APP_SECRET_KEY"],
    SWEEP_ENV["APP_ADMIN_PASSWORD"],
    SWEEP_ENV["APP_API_KEYS__PEPPER"],
)
NEVER_PRINTED = (PASSWORD, STDIN_PASSWORD)

# -- the tasks, from the collection ---------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    name: str  # as typed, without dashes: "password-stdin"
    kind: str  # the invoke kind's name: "str", "bool", "list", "int", ...
    positional: bool


@dataclass(frozen=True)
class TaskSpec:
    name: str
    args: tuple[Arg, ...]

    @property
    def positionals(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.positional)

    @property
    def flags(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.positional)


def discover_tasks() -> list[TaskSpec]:
    """Every task ``--list`` shows, with its flags and positional arguments in order."""
    from backend.app.cli import build_namespace

    ns = build_namespace()
    contexts = {ctx.name: ctx for ctx in ns.to_contexts()}
    specs = []
    for name in sorted(ns.task_names):
        ctx = contexts[name]
        positional = [Arg(str(a.names[0]), a.kind.__name__, True) for a in ctx.positional_args]
        flags = [
            Arg(str(a.names[0]), a.kind.__name__, False)
            for a in ctx.args.values()
            if not a.positional
        ]
        specs.append(TaskSpec(name, (*positional, *flags)))
    return specs


# -- the seeded database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """What the seeded database holds that a generated argv may name."""

    keys: Mapping[str, str]  # label -> raw key (active, revoked, expired, ...)
    key_ids: Mapping[str, int]
    emails: tuple[str, ...] = ("admin@example.com", "member@example.com", "idle@example.com")
    accounts: tuple[str, ...] = ("ci-deploy", "old-bot")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self.keys.values())


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    parse_error: str | None = None  # what invoke's own parser rejected the argv with, if it did


def run_cli(argv: Sequence[str], stdin: bytes = b"") -> Result:
    """``backendctl ARGV`` in-process (Program.run, exit=True), stdin given as bytes.

    Invoke's parse errors (unknown flag, missing value...) are recorded as they pass by, so the
    oracle knows exactly which exit-1 runs are invoke's own, at no extra parse.
    """
    # Encoded like a real process's streams: printing a lone surrogate (what a non-UTF-8 argv
    # byte decodes to) to stdout raises there, and must not here go unnoticed.
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    app = program()
    seen: list[str] = []
    for step in ("parse_core", "parse_tasks", "parse_cleanup"):
        setattr(app, step, _recording(getattr(app, step), seen))
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="strict")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                app.run(["backendctl", *argv], exit=True)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.stdin = saved
    parse_error = seen[0] if seen else None
    return Result(tuple(argv), code, _text(out), _text(err), parse_error)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def _recording(step: Callable[..., None], seen: list[str]) -> Callable[..., None]:
    def wrapper(*args: Any) -> None:
        try:
            step(*args)
        except ParseError as error:
            seen.append(str(error))
            raise

    return wrapper


def seed(run: Callable[..., Result]) -> Seed:
    """Users, service accounts and keys in every state, made through the CLI itself."""

    def ok(*argv: str) -> Result:
        result = run(argv)
        assert result.code == 0, result
        return result

    def key(*argv: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(ok("keys.create", *argv, "--json").stdout)
        return data

    pw = ("--password-env", "SWEEP_PASSWORD")
    ok("users.create", "--email", "admin@example.com", "--role", "admin", "--name", "Ada", *pw)
    ok("users.create", "--email", "member@example.com", "--name", "Max Member", *pw)
    ok("users.create", "--email", "idle@example.com", *pw)
    ok("accounts.create", "ci-deploy", "--description", "deploys from CI")
    ok("accounts.create", "old-bot")
    made = {
        "member": key("--user", "member@example.com", "--scope", "users:read", "--name", "laptop"),
        "account": key("--account", "ci-deploy", "--scope", "*"),
        "revoked": key("--user", "admin@example.com", "--no-expiry"),
        "idle-owner": key("--user", "idle@example.com"),
        "inactive-account": key("--account", "old-bot"),
        "expired": key("--user", "member@example.com", "--expires-in", "30d"),
    }
    ok("keys.revoke", str(made["revoked"]["id"]))
    ok("users.deactivate", "idle@example.com")
    ok("accounts.deactivate", "old-bot")
    rotated = json.loads(
        ok("keys.rotate", str(made["expired"]["id"]), "--grace", "1s", "--json").stdout
    )
    made["successor"] = rotated
    time.sleep(1.2)  # the rotated key's grace ends: it is now expired
    return Seed(
        keys={label: str(data["key"]) for label, data in made.items()},
        key_ids={label: int(data["id"]) for label, data in made.items()},
    )
