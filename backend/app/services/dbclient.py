"""A client session (``psql``, ``sqlite3``) on the configured database: read-only on a protected
database unless writing is asked for; the password goes to psql as a password file (on Linux a
file in memory handed over as a file descriptor), never on a command line."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.app.errors import (
    DatabaseUnreachable,
    InvalidInput,
    Refused,
)
from backend.app.services.dbserver import (
    APPLICATION_NAME,
    READ_ONLY_OPTION,
    ClientName,
    _sqlite_file,
    _stamp,
)

if TYPE_CHECKING:
    from backend.app.core.database import Database
    from backend.app.core.urls import DatabaseUrl
    from backend.app.repositories.schema import Stamp
    from backend.app.services.context import ServiceContext


# -- a client session ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Client:
    """A client program ready to run on the configured database.

    ``env`` is the child's whole environment and ``pass_fds`` the descriptors it must inherit
    (the in-memory password file). ``protected_by`` says why the database counts as protected,
    whether or not writing was asked for.
    """

    name: ClientName
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    pass_fds: tuple[int, ...] = ()
    read_only: bool = False
    protected_by: str | None = None

    def __repr__(self) -> str:  # the environment may hold secrets of the caller's
        return f"Client({self.name}, argv={self.argv!r}, read_only={self.read_only})"


@asynccontextmanager
async def client_session(
    ctx: ServiceContext,
    *,
    write: bool,
    command: str | None,
    script: bool,
    profile: str,
) -> AsyncIterator[Client]:
    """``psql`` or ``sqlite3`` on the configured database, valid inside the ``async with``.

    Read-only when the profile is protected or the database's stamp says so, unless ``write``.
    ``command`` is one statement to run instead of a session; ``script`` says the input is not
    a person at a terminal, so the client stops at the first error.
    """
    database = ctx.database
    name: ClientName = "psql" if database.dialect == "postgresql" else "sqlite3"
    binary = shutil.which(name)
    if binary is None:
        raise InvalidInput(f"{name} is not installed (not found on PATH): {_INSTALL[name]}")
    if command is not None:
        _check_command(command)
    stamp = await _stamp(ctx)
    protected_by = _protected_by(ctx, stamp, profile)
    read_only = protected_by is not None and not write
    # The client gets the database to itself: the run's idle connections would only linger.
    await database.finish()
    if name == "sqlite3":
        yield Client(
            name,
            _sqlite_argv(binary, database, read_only=read_only, command=command, script=script),
            env=_child_environ(),
            read_only=read_only,
            protected_by=protected_by,
        )
        return
    with _libpq_environment(ctx, read_only=read_only) as (env, fds):
        if read_only:
            await _check_read_only(binary, env, fds, ctx)
        argv = [binary, "-v", "ON_ERROR_STOP=1"]
        if command is not None:
            argv += ["-X", "-c", command]  # a script's output must not depend on ~/.psqlrc
        yield Client(
            name,
            tuple(argv),
            env=env,
            pass_fds=fds,
            read_only=read_only,
            protected_by=protected_by,
        )


_INSTALL: Mapping[str, str] = {
    "psql": "install the PostgreSQL client (Debian: apt-get install postgresql-client)",
    "sqlite3": "install the SQLite shell (Debian: apt-get install sqlite3)",
}


def _check_command(command: str) -> None:
    if not command.strip():
        raise InvalidInput("{field} is empty: give the SQL to run", field="command")
    if "\x00" in command:
        raise InvalidInput("{field} contains a NUL character", field="command")


def _protected_by(ctx: ServiceContext, stamp: Stamp | None, profile: str) -> str | None:
    if ctx.settings.protected:
        return f"the profile {profile} is protected"
    if stamp is not None and stamp.protected:
        return f"the database was migrated under the protected profile {stamp.profile}"
    return None


def _sqlite_argv(
    binary: str, database: Database, *, read_only: bool, command: str | None, script: bool
) -> tuple[str, ...]:
    argv = [binary]
    if read_only:
        argv.append("-readonly")
    if script:
        argv.append("-bail")
    # As the application's connections are: foreign keys enforced, waiting out a writer's lock.
    busy_ms = int(database.settings.database_busy_timeout_ms)
    argv += ["-cmd", "PRAGMA foreign_keys = ON", "-cmd", f".timeout {busy_ms}"]
    argv.append(str(_sqlite_file(database)))
    if command is not None:
        # sqlite3 reads any argument starting with '-' as an option, even after the file.
        argv.append(" " + command if command.startswith("-") else command)
    return tuple(argv)


@contextmanager
def _libpq_environment(
    ctx: ServiceContext, *, read_only: bool
) -> Iterator[tuple[dict[str, str], tuple[int, ...]]]:
    """The child's environment: the caller's, pointed at the configured database by ``PG*``
    variables (what asyncpg also reads is left alone, so both reach the same server)."""
    url = ctx.database.url
    env = _child_environ()
    env.update(url.libpq_environment())
    env.setdefault("PGCONNECT_TIMEOUT", str(max(1, int(ctx.settings.database_connect_timeout))))
    env.setdefault("PGAPPNAME", APPLICATION_NAME)
    if read_only:
        # The server applies it to every transaction of the session, so it holds for whatever
        # is typed; appended last, it wins over a caller's own PGOPTIONS.
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {READ_ONLY_OPTION}".strip()
    password = url.password
    if password is None:
        yield env, ()
        return
    # libpq prefers PGPASSWORD to a password file: the caller's own must not win either.
    env.pop("PGPASSWORD", None)
    if "\n" in password or "\r" in password:  # a password file holds one line per entry
        env["PGPASSWORD"] = password
        yield env, ()
        return
    with _password_file(_passfile_line(url, password)) as (path, fds):
        env["PGPASSFILE"] = path
        yield env, fds


def _child_environ() -> dict[str, str]:
    """The caller's environment without the application's own settings: ``APP_DATABASE_URL``
    and its kin may carry the password and other secrets, which the client has no use for."""
    return {name: value for name, value in os.environ.items() if not name.startswith("APP_")}


def _passfile_line(url: DatabaseUrl, password: str) -> str:
    """``host:port:database:user:password``, matching this server and user only.

    A socket folder matches as ``*``: libpq compares its default socket folder as
    ``localhost``. Any database matches, so ``\\c`` to another database of the server works.
    """
    host = url.host if url.host is not None and not url.is_socket else "*"
    fields = (host, str(url.port) if url.port is not None else "*", "*", url.user or "*")
    return ":".join(
        [*(part if part == "*" else _escape(part) for part in fields), _escape(password)]
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


@contextmanager
def _password_file(line: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """A libpq password file holding ``line``: its path for the child, and the descriptors the
    child must inherit for that path to work."""
    data = (line + "\n").encode()
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("pgpass")
        try:
            os.fchmod(fd, 0o600)  # libpq ignores a password file others could read
            os.write(fd, data)
            # The child opens its own inherited descriptor by this path.
            yield f"/proc/self/fd/{fd}", (fd,)
        finally:
            os.close(fd)
        return
    folder = tempfile.mkdtemp(prefix="backend-pgpass-")
    try:
        path = os.path.join(folder, "pgpass")
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        yield path, ()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _check_read_only(
    binary: str, env: Mapping[str, str], fds: tuple[int, ...], ctx: ServiceContext
) -> None:
    """Ask the server, through the same client and environment, whether the read-only default
    took: a connection pooler may drop the ``options`` startup parameter without a word."""
    where = ctx.database.where
    timeout = float(env.get("PGCONNECT_TIMEOUT", "10")) + 10
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-X",
            "-w",
            "-A",
            "-t",
            "-q",
            "-c",
            "SHOW default_transaction_read_only",
            env=dict(env),
            pass_fds=fds,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:
        raise InvalidInput(f"cannot run {binary}: {error.strerror}") from None
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise DatabaseUnreachable(f"timed out connecting to the database ({where})") from None
    if process.returncode != 0:
        detail = " ".join(err.decode(errors="replace").split())[:300]
        raise DatabaseUnreachable(
            f"psql could not connect to the database ({where})" + (f": {detail}" if detail else "")
        )
    if out.decode(errors="replace").strip() != "on":
        raise Refused(
            "the server did not apply the read-only default to psql's session (a connection "
            "pooler that ignores the options startup parameter?), so no session was opened on "
            "this protected database: connect to the server directly, or use {field} to open "
            "a session that may write",
            field="write",
        )
