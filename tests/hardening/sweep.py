"""The property-based sweep's parts: which tasks exist, what to type at them, and what must hold.

The tasks and their flags come from the collection the CLI ships (``build_namespace``), so a new
task or flag is swept without touching this file. The tables below only make some values
realistic enough (an existing email, a key id, a valid API key) to reach past validation into
the services; every argument also gets hostile values: empty, 10k characters, RTL and combining
marks, emoji, control characters (NUL included: ``Program.run`` in-process accepts what ``execve``
would refuse), numbers that overflow, durations and emails and ids that are nearly right.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from invoke.exceptions import ParseError

from backend.app.cli.__main__ import program
from backend.app.core.keys import BASE62

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


# -- generated values -----------------------------------------------------------------------------

HUGE = 10_000
HOSTILE = (
    "",
    " ",
    "\t",
    "x" * HUGE,
    "é" * HUGE,
    "🔑" * (HUGE // 4),
    "\u202egnp.exe",  # right-to-left override
    "مرحبا",
    "שלום",
    "e\u0301\u0302\u0303\u0304",  # combining marks
    "👩\u200d👩\u200d👧\u200d👦",  # emoji with zero-width joiners
    "\u200b",
    "\ufeff",
    "\x00",
    "a\x00b",
    "\x01\x02\x03",
    "\x1b[31mred\x1b[0m",
    "line\nbreak",
    "\r\n",
    "\x7f",
    "\udcff",  # what os.fsdecode makes of a non-UTF-8 argv byte
    "abc",
    "1.5",
    "true",
    "null",
    "[]",
    "{}",
    "-1",
    "0",
    "1e309",
    str(10**30),
    str(-(10**30)),
    "NaN",
    "inf",
    "٣",  # an Arabic-Indic digit: str.isdigit() says yes
    "²",
    "0x10",
    "0d",
    "-5d",
    "10x",
    "99999999999w",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "$(id)",
    '"""',
    "C:\\Users\\new",  # a \U escape if pasted into Python source
    "{0}%s%(x)s${x}",
    "--",
    "-",
)
EMAILS = (
    "member@example.com",
    "MEMBER@Example.COM",
    " member@example.com ",
    "admin@example.com",
    "idle@example.com",
    "new@example.com",
    "new.person+tag@example.co.uk",
    "user@bücher.ch",
    "ünïcode@example.com",
    "a@b",
    "@example.com",
    "x@",
    "a@@example.com",
    "user@example..com",
    "user@-example.com",
    "user@localhost",
    "user@1.2.3.4",
    "user@[127.0.0.1]",
    '"quoted"@example.com',
    "a" * 65 + "@example.com",
    "x@" + "a" * 250 + ".com",
    "x@" + ".".join(["a" * 60] * 5) + ".com",
    "member@example.com\n",
    "member@example.com\x00",
    "user@xn--bcher-kva.ch",
    "user@xn--.com",
)
ACCOUNTS = (
    "ci-deploy",
    "CI-Deploy",
    "old-bot",
    "new-bot",
    "a",
    "a" * 64,
    "a" * 65,
    "-bad",
    "bad-",
    "a_b",
    "a--b",
    "ünï",
    "ci-deploy\x00",
)
ROLES = ("admin", "member", "ADMIN", " member ", "root", "adm\x00in")
STATUSES = ("active", "inactive", "all", "ALL", "deleted")
DURATIONS = (
    "90d",
    "24h",
    "1h30m",
    "2w",
    "45s",
    "1s",
    "0s",
    "0d",
    "-5d",
    "10x",
    "5",
    "d",
    "1.5h",
    "5D",
    " 24h ",
    "1h1h",
    "36500d",
    "36501d",
    "5214w",
    "99999999999w",
    "999999999w",
    "999999999w999999999d",
)
INSTANTS = (
    "2030-01-01",
    "2030-01-01T12:00:00Z",
    "2030-01-01T12:00:00+05:30",
    "2030-01-01 12:00",
    "1999-01-01",
    "2000-01-01T00:00:00Z",
    "9999-12-31T23:59:59",
    "2126-06-01",
    "2030-13-01",
    "2030-02-30",
    "2030-01-01T25:00",
    "2030-01-01T00:00:00+25:00",
    "+10000-01-01",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "now",
    "12:00",
)
LIMITS = ("1", "2", "50", "10000000", "10000001", "0", "-1", "1e3", "01", " 5 ", "+5", "1_000")
REVISIONS = (
    "head",
    "heads",
    "base",
    "-1",
    "+1",
    "-2",
    "0001",
    "000",
    "0001:head",
    "base:head",
    "base:0001",
    "head:base",
    "deadbeef",
    "x; DROP TABLE users",
    "head-1",
    "0001@head",
    "@",
    ":",
    "base:",
)
SCOPES = (
    "users:read",
    "keys:write",
    "*",
    "a,b",
    "USERS:READ",
    ",",
    " , ",
    "bad scope",
    "x" * 65,
    ",".join(f"s{i}" for i in range(65)),
)
PROFILES = ("dev", "test", "prod", "DEV", "nope", "")
ENV_NAMES = (
    "SWEEP_PASSWORD",
    "SWEEP_SHORT",
    "SWEEP_EMPTY",
    "SWEEP_HUGE",
    "SWEEP_UNICODE",
    "SWEEP_CONTROL",
    "SWEEP_UNSET",
    "1BAD",
    "A B",
    "A=B",
    "X" * 129,
)
TEXT = ("laptop", "Max Member", "deploys from CI", "  padded  ", "a" * 200, "a" * 201, "%", "_")
WAITS = ("0", "0.05", "-1", "3601", "1e309", "nan", "inf", "abc", "")
ACTIONS = ("user.create", "user.*", "key.*", "*", "%", "user.create*")
ACTORS = ("sweep", "sweep*", "%", "cli:root@host")

# Sometimes one variable too: the CLI switches and settings a run reads besides its flags.
# (Never APP_DEBUG=1, which shows tracebacks on purpose, nor a URL that would be connected to.)
ENVIRONMENT = (
    ("APP_OUTPUT", "json"),
    ("APP_OUTPUT", "xml"),
    ("APP_ASSUME_YES", "1"),
    ("APP_ASSUME_YES", "maybe"),
    ("APP_ALLOW_DESTRUCTIVE", "1"),
    ("APP_ALLOW_DESTRUCTIVE", "2"),
    ("APP_ACTOR", "x" * 400),
    ("APP_ACTOR", "evil\x1b[2J"),
    ("APP_ACTOR", "ünï 🔑"),
    ("APP_DEBUG", "perhaps"),
    ("APP_PROFILE", "test"),
    ("APP_PROFILE", "prod"),
    ("APP_PROFILE", "nope"),
    ("APP_DATABASE_URL", "not a url"),
    ("APP_DATABASE_URL", "mysql://x/y"),
    ("APP_DATABASE_URL", "sqlite+aiosqlite:///:memory:"),
    ("APP_API_KEYS__PREFIX", "BAD"),
    ("APP_API_KEYS__USER_DEFAULT_EXPIRY", "0d"),
    ("APP_API_KEYS__ACCOUNT_DEFAULT_EXPIRY", "99999999999w"),
    ("APP_API_KEYS__LAST_USED_RESOLUTION", "-1"),
    ("APP_PASSWORDS__MIN_LENGTH", "-1"),
    ("APP_PASSWORDS__MAX_LENGTH", "1e309"),
    ("APP_PASSWORDS", "not json"),
    ("APP_PASSWORDS", '{"min_length": 2000}'),
    ("APP_DATABASE_BUSY_TIMEOUT_MS", "-5"),
    ("APP_SECRET_KEY", ""),
    ("APP_NO_SUCH_SETTING", "1"),
)

# By the argument's name (and the task's namespace where one name means two things).
REALISTIC: dict[str, tuple[str, ...]] = {
    "email": EMAILS,
    "user": EMAILS,
    "account": ACCOUNTS,
    "role": ROLES,
    "status": STATUSES,
    "search": ("member", "EXAMPLE", "ada", "%", "_", "\\%"),
    "limit": LIMITS,
    "expires-in": DURATIONS,
    "grace": DURATIONS,
    "expires-at": INSTANTS,
    "revision": REVISIONS,
    "scope": SCOPES,
    "password-env": ENV_NAMES,
    "name": TEXT,
    "description": TEXT,
    "message": ("add nicknames", "a" * 200, "a" * 201, 'say """hi', "C:\\Users\\x", 'end"', "é 🔑"),
    "wait": WAITS,
    "action": ACTIONS,
    "actor": ACTORS,
}
BY_TASK: dict[tuple[str, str], tuple[str, ...]] = {
    ("accounts", "name"): ACCOUNTS,
    ("profile", "name"): PROFILES,
}


def mutated(value: str) -> st.SearchStrategy[str]:
    """``value`` with one character replaced, inserted or dropped (a mistyped key or email)."""
    if not value:
        return st.just(value)

    def change(pos: int, char: str, how: int) -> str:
        if how == 0:
            if char == value[pos]:  # really changed, whatever random key the seeding made
                if char in BASE62:  # stays well-formed: the checksum must catch it
                    char = BASE62[(BASE62.index(char) + 1) % len(BASE62)]
                else:
                    char = "?" if char != "?" else "!"
            return value[:pos] + char + value[pos + 1 :]
        if how == 1:
            return value[:pos] + char + value[pos:]
        return value[:pos] + value[pos + 1 :]

    chars = st.one_of(st.sampled_from(BASE62), st.characters(codec="utf-8"))
    return st.builds(change, st.integers(0, len(value) - 1), chars, st.integers(0, 2))


def realistic_values(task: str, arg: str, seed: Seed) -> tuple[str, ...]:
    namespace = task.split(".", 1)[0]
    if (namespace, arg) in BY_TASK:
        return BY_TASK[(namespace, arg)]
    if arg == "id":
        ids = sorted(set(seed.key_ids.values()))
        return (*map(str, ids), str(max(ids) + 1), "0", "9" * 18, "9" * 19, "01", " 1 ")
    return REALISTIC.get(arg, ())


def values_for(task: str, arg: str, seed: Seed) -> st.SearchStrategy[str]:
    """What to type for one argument: realistic, nearly right, hostile, or anything at all."""
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        st.sampled_from(seed.secrets),
    ]
    known = realistic_values(task, arg, seed)
    if known:  # twice: a case reaches the services only when every value is plausible
        realistic = st.sampled_from(known)
        choices = [realistic, realistic, realistic.flatmap(mutated), *choices]
    return st.one_of(*choices)


def stdin_values(seed: Seed) -> st.SearchStrategy[bytes]:
    """Standard input: keys in every state (or one character off), passwords, garbage."""
    keys = st.sampled_from(seed.secrets)  # in seeding order: the same cases on every run
    text = st.one_of(
        keys,
        keys.map(lambda k: k + "\n"),
        keys.flatmap(mutated),
        keys.map(lambda k: k.upper()),
        keys.map(lambda k: "xx_" + k.split("_", 1)[1]),
        st.just(STDIN_PASSWORD + "\n"),
        st.just(STDIN_PASSWORD + "\r\n"),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
    )
    raw = st.sampled_from((b"\xff\xfe\xfd", b"bk_\xc3\x28", b"\x00" * 64))
    return st.one_of(text.map(lambda s: s.encode("utf-8", "surrogatepass")), raw)


@dataclass(frozen=True)
class Case:
    """One generated command line."""

    task: str
    argv: tuple[str, ...]
    stdin: bytes
    json: bool
    env: tuple[tuple[str, str], ...] = ()  # variables set for this run only

    def __repr__(self) -> str:  # hypothesis prints failing cases: keep 10k-character values short
        def short(text: str) -> str:
            return repr(text) if len(text) <= 80 else f"{text[:40]!r}...({len(text)} chars)"

        env = " ".join(f"{name}={short(value)}" for name, value in self.env)
        argv = ", ".join(map(short, self.argv))
        return f"Case({env + ' ' if env else ''}{self.task}: [{argv}], stdin={self.stdin[:80]!r})"


@st.composite
def cases(draw: st.DrawFn, spec: TaskSpec, seed: Seed) -> Case:
    """An argv for ``spec``: its positionals (rarely one missing), any subset of its flags in any
    order, sometimes a profile first, rarely a flag or argument invoke does not know."""
    groups: list[list[str]] = []
    for arg in spec.positionals:
        # Hypothesis favours 0 and the bounds: a middle value makes these rare, as meant.
        if draw(st.integers(0, 24)) == 12:
            continue  # invoke must report the missing argument itself
        groups.append([draw(values_for(spec.name, arg.name, seed))])
    flags = draw(st.lists(st.sampled_from(spec.flags), unique=True)) if spec.flags else []
    as_json = any(f.name == "json" for f in flags)
    for arg in flags:
        flag = f"--{arg.name}"
        if arg.kind == "bool":
            groups.append([flag])
            continue
        count = draw(st.integers(1, 3)) if arg.kind == "list" else 1
        for _ in range(count):
            value = draw(values_for(spec.name, arg.name, seed))
            groups.append([f"{flag}={value}"] if draw(st.booleans()) else [flag, value])
    if draw(st.integers(0, 29)) == 15:
        groups.append([draw(st.sampled_from(["--bogus", "extra", "--json=1", "-x"]))])
    order = draw(st.permutations(range(len(groups))))
    argv = [spec.name, *(token for i in order for token in groups[i])]
    prelude = draw(st.integers(0, 9))
    if prelude == 4:
        argv = ["--profile", draw(st.sampled_from(PROFILES)), *argv]
    elif prelude == 5 and spec.name != "profile":
        argv = ["profile", draw(st.sampled_from(PROFILES)), *argv]
    env = (draw(st.sampled_from(ENVIRONMENT)),) if draw(st.integers(0, 7)) == 3 else ()
    as_json = as_json or ("APP_OUTPUT", "json") in env
    return Case(spec.name, tuple(argv), draw(stdin_values(seed)), as_json, env)


# -- databases the sweep runs against ------------------------------------------------------------


def sqlite_dump(path: Path) -> str:
    """Schema and every row, read through SQLite (so a pending WAL is included)."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SqliteTarget:
    """A working copy of the seeded template, put back after any run that changed it."""

    kind = "sqlite"

    def __init__(self, template: Path, work: Path) -> None:
        self.template = template
        self.work = work
        self.template_digest = file_digest(template)
        self.template_dump = sqlite_dump(template)
        self.restore()

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.work}"

    def _sidecars(self) -> list[Path]:
        return [self.work.with_name(self.work.name + suffix) for suffix in ("-wal", "-shm")]

    def restore(self) -> None:
        for sidecar in self._sidecars():
            sidecar.unlink(missing_ok=True)
        shutil.copyfile(self.template, self.work)

    def state(self) -> tuple[bool, bool]:
        """(bytes unchanged, content unchanged) since the last restore.

        The bytes are only comparable with no WAL pending: SQLite checkpoints and deletes it
        when the last connection closes, which every task run does (a leaked connection would
        leave one, and then the content comparison decides).
        """
        wal = self._sidecars()[0]
        pending = wal.exists() and wal.stat().st_size > 0
        if self.work.exists() and not pending and file_digest(self.work) == self.template_digest:
            return True, True
        content = self.work.exists() and sqlite_dump(self.work) == self.template_dump
        return False, content

    def close(self) -> None:
        pass


class PostgresTarget:
    """A database cloned from a seeded template; cloned again after a run that changed it."""

    kind = "postgresql"

    def __init__(self, server_dsn: str, url: str, template: str, baseline: Any) -> None:
        self.server_dsn = server_dsn
        self._url = url
        self.name = url.rsplit("/", 1)[1]
        self.template = template
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None
        self.baseline = baseline
        if baseline is not None and self.snapshot() != baseline:
            self.restore()  # an earlier test stopped before it could put the database back

    @property
    def url(self) -> str:
        return self._url

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def snapshot(self) -> Any:
        """Tables, columns, indexes and every row (sorted): all but sequence positions."""
        import asyncpg

        async def snap() -> Any:
            if self._conn is None:
                base = self.server_dsn.rsplit("/", 1)[0]
                self._conn = await asyncpg.connect(f"{base}/{self.name}", timeout=10)
            conn = self._conn
            tables = [
                r[0]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
            ]
            columns = await conn.fetch(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
            )
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
            )
            rows = {}
            for table in tables:
                fetched = await conn.fetch(f'SELECT * FROM "{table}"')
                rows[table] = sorted((tuple(r) for r in fetched), key=repr)
            return (
                tables,
                [tuple(c) for c in columns],
                [tuple(i) for i in indexes],
                rows,
            )

        return self._run(snap())

    def state(self) -> tuple[bool, bool]:
        """(content unchanged, content unchanged): PostgreSQL's bytes are not ours to compare;
        sequences are left out too (a failed INSERT consumes a value, by design)."""
        same = bool(self.snapshot() == self.baseline)
        return same, same

    def restore(self) -> None:
        import asyncpg

        async def clone() -> None:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
            admin = await asyncpg.connect(self.server_dsn, timeout=10)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
            finally:
                await admin.close()

        self._run(clone())

    def close(self) -> None:
        if self._conn is not None:
            self._run(self._conn.close())
            self._conn = None
        self._loop.close()


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
