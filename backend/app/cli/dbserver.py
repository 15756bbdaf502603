"""`db.create`, `db.drop` and `db.shell`: the database itself, on its server, and a client on it.

These tasks belong to the `db` namespace (``cli/db.py`` imports them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit

from backend.app.cli._common import YES_HELP
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli._streams import stdin_is_a_terminal
from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.services.dbserver import Lifecycle


def _report(rt: Runtime, done: Lifecycle) -> None:
    past = {"create": "created", "drop": "dropped"}[done.action]
    if not done.changed:
        status = "unchanged"
    elif done.dry_run:
        status = f"would {done.action}"
    else:
        status = past
    data: dict[str, Any] = {
        "status": status,
        "engine": done.engine,
        "database": done.name,
    }
    if done.engine == "sqlite":
        data["files"] = list(done.files)
    what = (
        f"the SQLite database {done.name}"
        if done.engine == "sqlite"
        else f"the database {done.name}"
    )
    if status == "unchanged":
        text = (
            f"unchanged: {what} already exists"
            if done.action == "create"
            else f"unchanged: there is no {what.removeprefix('the ')}"
        )
    else:
        text = f"{status}: {what}"
        others = [file for file in done.files if file != done.name]
        if others:
            text += f" (and {', '.join(others)})"
    rt.out.result(data, text=text)


@app_task()
async def create(rt: Runtime) -> None:
    """Create the database if it is missing (PostgreSQL: on its server; SQLite: the file)."""
    from backend.app.services import dbadmin

    _report(rt, await dbadmin.create_database(rt.services()))


@app_task(
    help={
        "yes": YES_HELP + " (always needed here, whatever the profile)",
        "force": "disconnect the database's other sessions first (PostgreSQL)",
    }
)
async def drop(rt: Runtime, yes: bool = False, force: bool = False) -> None:
    """Drop the database (SQLite: the file and its -wal/-shm); needs --yes, refused if protected."""
    from backend.app.services import dbadmin

    done = await dbadmin.drop_database(
        rt.services(),
        confirmed=rt.confirmed(yes),
        allow_destructive=rt.switches.allow_destructive,
        profile=rt.app.profile.name,
        force=force,
    )
    _report(rt, done)


@app_task(
    help={
        "write": "allow changes on a protected database (the session is read-only there otherwise)",
        "command": "run this one SQL statement and exit with the client's status",
    },
    no_dry_run="psql and sqlite3 cannot roll back what they are given",
)
async def shell(rt: Runtime, write: bool = False, command: str | None = None) -> None:
    """Open psql or sqlite3 on the database (read-only on a protected one unless --write)."""
    from backend.app.services import dbclient

    script = command is not None or not stdin_is_a_terminal()
    async with dbclient.client_session(
        rt.services(),
        write=write,
        command=command,
        script=script,
        profile=rt.app.profile.name,
    ) as client:
        if client.read_only:
            rt.out.note(f"read-only session: {client.protected_by}; pass --write to change it")
        elif client.protected_by is not None:
            rt.out.note(f"read-write session on a protected database: {client.protected_by}")
        status = run_in_foreground(client.name, client.argv, client.env, client.pass_fds)
    if status != 0:
        raise Exit(code=status)


def run_in_foreground(
    name: str, argv: Sequence[str], env: Mapping[str, str], pass_fds: Sequence[int]
) -> int:
    """Run a program on this terminal until it exits; its exit status (128+N for signal N)."""
    import subprocess

    sys.stdout.flush()
    sys.stderr.flush()
    with _interrupts_go_to_the_child():
        try:
            done = subprocess.run(  # noqa: S603 (a client found on PATH, with our own arguments)
                list(argv), env=dict(env), pass_fds=tuple(pass_fds), check=False
            )
        except OSError as error:
            raise InvalidInput(f"cannot run {name}: {error.strerror}") from None
    code = done.returncode
    return 128 - code if code < 0 else code


@contextmanager
def _interrupts_go_to_the_child() -> Iterator[None]:
    """Ctrl-C at the terminal reaches the child too (it cancels psql's query): this process
    must outlive it and report the child's status, as system() does. A Python handler rather
    than SIG_IGN, which the child would inherit."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, _ignore)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _ignore(_signum: int, _frame: Any) -> None:
    pass
