"""How the password reaches psql: a password file, never on the command line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.databases import pg_admin, with_database
from tests.fixtures.shells import INSERT, backendctl, protect, report
from tests.support import Cli, Db

pytestmark = pytest.mark.slow


# -- how the password travels ---------------------------------------------------------------------

WRAPPER = """#!/bin/sh
# Stands in for psql: records how it was called, then runs the real one.
{{
  echo "call"
  for arg in "$@"; do printf 'argv %s\\n' "$arg"; done
  env | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/env \\1/p'
  printf 'passfile %s\\n' "$PGPASSFILE"
  if [ -n "$PGPASSFILE" ]; then printf 'passfile-line %s\\n' "$(cat "$PGPASSFILE")"; fi
  printf 'cmdline %s\\n' "$(tr '\\000' ' ' < /proc/$$/cmdline)"
}} >> {record}
exec {psql} "$@"
"""


class PasswordRecordingProxy:
    """A PostgreSQL front that asks every client for its password in clear, records it, then
    relays the session to the real server (which trusts the connection): proof of which
    password a client really sent."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.passwords: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            while True:
                length = struct.unpack("!I", _exactly(client, 4))[0]
                body = _exactly(client, length - 4)
                code = struct.unpack("!I", body[:4])[0]
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                    client.sendall(b"N")
                    continue
                break
            if code == 80877102:  # CancelRequest: not relayed
                return
            client.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            kind = _exactly(client, 1)
            size = struct.unpack("!I", _exactly(client, 4))[0]
            password = _exactly(client, size - 4)
            if kind != b"p":
                return
            self.passwords.append(password.rstrip(b"\x00").decode())
            with socket.create_connection(self.upstream) as server:
                server.sendall(struct.pack("!I", length) + body)
                relay = threading.Thread(target=_pipe, args=(server, client), daemon=True)
                relay.start()
                _pipe(client, server)
                relay.join(timeout=5)

    def close(self) -> None:
        self.listener.close()


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied_pg(pg_server: str, pg_template: str) -> Iterator[tuple[PasswordRecordingProxy, str]]:
    """A migrated database reached through the recording proxy, with a password in its URL."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(pg_server)
    proxy = PasswordRecordingProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    name = f"bt_pw_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    user = parts.username or "postgres"
    try:
        yield proxy, f"postgresql://{user}:{quote(PASSWORD, safe='')}@127.0.0.1:{proxy.port}/{name}"
    finally:
        proxy.close()
        asyncio.run(pg_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


PASSWORD = "Pass:word\\with-Colon"  # what a password file must escape


@pytest.mark.postgres
@pytest.mark.parametrize("protected", [False, True], ids=["read-write", "read-only"])
def test_the_password_reaches_psql_through_a_password_file_never_argv_or_environment(
    cli: Cli,
    project: Path,
    tmp_path: Path,
    proxied_pg: tuple[PasswordRecordingProxy, str],
    protected: bool,
) -> None:
    import shutil

    proxy, url = proxied_pg
    if protected:
        cli.monkeypatch.setenv("APP_DATABASE_URL", url)
        protect(cli)
        proxy.passwords.clear()
    psql = shutil.which("psql")
    assert psql is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls.txt"
    wrapper = bin_dir / "psql"
    wrapper.write_text(WRAPPER.format(record=record, psql=psql))
    wrapper.chmod(0o700)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PGPASSWORD": "not-this-one"}
    done = backendctl(project, url, "db.shell", "--command", "SELECT current_user", env=env)
    assert done.returncode == 0, report(done)
    assert PASSWORD not in done.stdout + done.stderr
    calls = record.read_text().split("call\n")[1:]
    assert len(calls) == (2 if protected else 1)  # read-only: a check first, then the session
    for call in calls:
        lines = call.splitlines()
        argv = [line.removeprefix("argv ") for line in lines if line.startswith("argv ")]
        names = {line.removeprefix("env ") for line in lines if line.startswith("env ")}
        assert not any(PASSWORD in arg for arg in argv), argv
        assert not any(PASSWORD in line for line in lines if line.startswith("cmdline "))
        assert "PGPASSWORD" not in names  # not ours, and not the caller's either
        # Nor the application's settings: APP_DATABASE_URL holds the password too.
        assert not {name for name in names if name.startswith("APP_")}, names
        assert {"PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"} <= names
        passfile = next(line for line in lines if line.startswith("passfile "))
        path = passfile.removeprefix("passfile ")
        if not path.startswith("/proc/"):  # a file on disk must be gone after the session
            assert not Path(path).exists()
        escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
        user = next(line for line in lines if line.startswith("passfile-line ")).split(":")[3]
        assert f"passfile-line 127.0.0.1:{proxy.port}:*:{user}:{escaped}\n" in call
        assert call.count(escaped) == 1  # in the file, and nowhere else
        if protected:
            assert "PGOPTIONS" in names
    # The server side of the proxy saw exactly the URL's password, from psql as from the app.
    assert proxy.passwords
    assert set(proxy.passwords) == {PASSWORD}


@pytest.mark.postgres
@pytest.mark.pgbouncer
def test_a_pooler_dropping_the_read_only_option_is_refused_not_ignored(
    cli: Cli, pg_server: str, pg_template: str, pgbouncer_address: str, project: Path
) -> None:
    """The suite's PgBouncer ignores the ``options`` startup parameter, as many do: psql would
    open a session that can write. db.shell checks, and refuses."""
    name = f"bt_pool_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    try:
        direct = Db("postgresql", with_database(pg_server, name))
        pooled = direct.through(pgbouncer_address)
        cli.monkeypatch.setenv("APP_DATABASE_URL", direct.url)
        protect(cli)
        insert = INSERT.format(true="true")
        refused = backendctl(project, pooled.url, "db.shell", "--command", insert)
        assert refused.returncode == 5, report(refused)
        assert refused.stderr.splitlines()[-1].startswith(
            "error: the server did not apply the read-only default to psql's session"
        )
        assert refused.stderr.splitlines()[-1].endswith(
            "or use --write to open a session that may write"
        )
        assert direct.count("service_accounts") == 0
        direct_run = backendctl(project, direct.url, "db.shell", "--command", insert)
        assert direct_run.returncode != 0  # straight to the server, the read-only default holds
        assert direct.count("service_accounts") == 0
    finally:
        asyncio.run(pg_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
