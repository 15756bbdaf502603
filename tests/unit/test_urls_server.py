"""libpq parameters against a real server (BACKEND_TEST_POSTGRES_URL)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app.core.urls import (
    DatabaseUrl,
    parse_database_url,
)

# -- against a real server (BACKEND_TEST_POSTGRES_URL) -------------------------------------------


def _server(pg_server: str, query: str) -> DatabaseUrl:
    base = parse_database_url(pg_server)
    return parse_database_url(
        DatabaseUrl(
            engine="postgresql",
            user=base.user,
            password=base.password,
            host=base.host,
            port=base.port,
            database=base.database,
        ).normalised()
        + ("?" + query if query else "")
    )


async def _select(url: DatabaseUrl) -> tuple[Any, ...]:
    engine = create_async_engine(url.sqlalchemy_url(), connect_args=url.connect_args())
    try:
        async with engine.connect() as conn:
            row = await conn.execute(
                text(
                    "SELECT 1, current_setting('application_name'),"
                    " (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())"
                )
            )
            return tuple(row.one())
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_sslmodes_that_allow_plain_connections_connect(pg_server: str, mode: str) -> None:
    url = _server(pg_server, f"sslmode={mode}&application_name=urls%20test&connect_timeout=5")
    assert asyncio.run(_select(url)) == (1, "urls test", False)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["require", "verify-full"])
def test_sslmode_require_against_a_server_without_tls_fails_with_connection_error(
    pg_server: str, mode: str
) -> None:
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    if not ca.is_file():
        pytest.skip("no CA bundle on this machine")
    url = _server(pg_server, f"sslmode={mode}&sslrootcert={quote(str(ca))}")
    with pytest.raises(ConnectionError, match="rejected SSL upgrade") as caught:
        asyncio.run(_select(url))
    # A plain ConnectionError (an OSError), not wrapped by SQLAlchemy nor asyncpg.
    assert type(caught.value) is ConnectionError


@pytest.mark.postgres
def test_the_certificate_files_reach_asyncpg(pg_server: str, certs: dict[str, str]) -> None:
    url = _server(pg_server, f"sslmode=verify-ca&sslrootcert={quote(certs['sslrootcert'])}")
    # asyncpg read the file (it is not a certificate): proof that the DSN carried it.
    with pytest.raises(ssl.SSLError):
        asyncio.run(_select(url))
    prefer = _server(pg_server, f"sslmode=prefer&sslrootcert={quote(certs['sslrootcert'])}")
    assert asyncio.run(_select(prefer))[0] == 1  # prefer does not verify, as with libpq


@pytest.mark.postgres
def test_a_unix_socket_in_the_query_connects(pg_server: str) -> None:
    base = parse_database_url(pg_server)
    socket_dir = next(
        (d for d in ("/run/postgresql", "/var/run/postgresql", "/tmp") if _has_socket(d, base)),
        None,
    )
    if socket_dir is None:
        pytest.skip("no PostgreSQL Unix socket on this machine")
    url = DatabaseUrl(
        engine="postgresql",
        user=base.user,
        password=base.password,
        host=socket_dir,
        port=base.port,
        database=base.database,
    )
    assert parse_database_url(url.normalised()) == url
    assert asyncio.run(_select(url)) == (1, "", False)


def _has_socket(folder: str, base: DatabaseUrl) -> bool:
    return Path(folder, f".s.PGSQL.{base.port or 5432}").exists()


@pytest.mark.postgres
def test_a_socket_folder_that_does_not_exist_fails_at_connect_time(pg_server: str) -> None:
    url = parse_database_url("postgresql:///test?host=/nonexistent")
    with pytest.raises(FileNotFoundError):
        asyncio.run(_select(url))
