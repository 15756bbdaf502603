"""SQLite URLs: paths, SQLite's own parameters, and in-memory databases refused."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app.core.urls import (
    DatabaseUrl,
    parse_database_url,
)
from tests.unit.url_cases import CANARY, assert_no_piece_of, parse_error

# -- SQLite URLs ---------------------------------------------------------------------------------

SQLITE_GOOD = [
    pytest.param(
        "sqlite:///var/dev.sqlite",
        Path("var/dev.sqlite"),
        {},
        "sqlite+aiosqlite:///var/dev.sqlite",
        id="relative",
    ),
    pytest.param(
        "sqlite+aiosqlite:////srv/app.sqlite",
        Path("/srv/app.sqlite"),
        {},
        "sqlite+aiosqlite:////srv/app.sqlite",
        id="absolute",
    ),
    pytest.param(
        "SQLITE:///var/app.sqlite?timeout=3",
        Path("var/app.sqlite"),
        {"timeout": "3"},
        "sqlite+aiosqlite:///var/app.sqlite?timeout=3",
        id="timeout",
    ),
    pytest.param(
        "sqlite:////srv/app.sqlite?mode=ro",
        Path("/srv/app.sqlite"),
        {"mode": "ro"},
        "sqlite+aiosqlite:///file:/srv/app.sqlite?mode=ro&uri=true",
        id="read-only",
    ),
    pytest.param(
        "sqlite:////srv/app.sqlite?mode=rw&cache=shared&immutable=1&nolock=0&timeout=2.5",
        Path("/srv/app.sqlite"),
        {"mode": "rw", "cache": "shared", "immutable": "1", "nolock": "0", "timeout": "2.5"},
        "sqlite+aiosqlite:///file:/srv/app.sqlite"
        "?mode=rw&cache=shared&immutable=1&nolock=0&timeout=2.5&uri=true",
        id="every-parameter",
    ),
    pytest.param(
        "sqlite:///file:/srv/app.sqlite?mode=ro&uri=true",
        Path("/srv/app.sqlite"),
        {"mode": "ro"},
        "sqlite+aiosqlite:///file:/srv/app.sqlite?mode=ro&uri=true",
        id="file-uri",
    ),
    pytest.param(
        "sqlite:///file:///srv/app.sqlite?uri=1",
        Path("/srv/app.sqlite"),
        {},
        "sqlite+aiosqlite:////srv/app.sqlite",
        id="file-uri-empty-authority",
    ),
    pytest.param(
        "sqlite:///file://localhost/srv/app.sqlite?uri=no",
        Path("/srv/app.sqlite"),
        {},
        "sqlite+aiosqlite:////srv/app.sqlite",
        id="file-uri-localhost",
    ),
    pytest.param(
        "sqlite:///file:var/app.sqlite",
        Path("var/app.sqlite"),
        {},
        "sqlite+aiosqlite:///var/app.sqlite",
        id="file-uri-relative",
    ),
    pytest.param(
        "sqlite:////srv/my%20data/a%25b%3Fc%23d.sqlite",
        Path("/srv/my data/a%b?c#d.sqlite"),
        {},
        "sqlite+aiosqlite:////srv/my%20data/a%25b%3Fc%23d.sqlite",
        id="escapes-in-path",
    ),
    pytest.param(
        "sqlite:////srv/my%20data/a%25b%3Fc.sqlite?mode=ro",
        Path("/srv/my data/a%b?c.sqlite"),
        {"mode": "ro"},
        "sqlite+aiosqlite:///file:/srv/my%2520data/a%2525b%253Fc.sqlite?mode=ro&uri=true",
        id="escapes-in-uri-path",
    ),
    pytest.param(
        "sqlite:////srv/a+b@c:d.sqlite",
        Path("/srv/a+b@c:d.sqlite"),
        {},
        "sqlite+aiosqlite:////srv/a+b@c:d.sqlite",
        id="plus-at-colon-in-path",
    ),
]


@pytest.mark.parametrize(("raw", "path", "params", "normalised"), SQLITE_GOOD)
def test_a_sqlite_url_parses_to_its_file(
    raw: str, path: Path, params: dict[str, str], normalised: str
) -> None:
    url = parse_database_url(raw)
    assert url.engine == "sqlite"
    assert url.path == path
    assert dict(url.params) == params
    assert (url.user, url.password, url.host, url.port, url.database) == (None,) * 5
    assert url.normalised() == normalised
    assert url.sqlalchemy_url() == normalised
    assert url.masked() == normalised
    assert url.connect_args() == {}
    assert url.libpq_environment() == {}
    assert parse_database_url(url.normalised()) == url


@pytest.mark.parametrize(("raw", "path", "params", "normalised"), SQLITE_GOOD)
def test_sqlalchemy_opens_the_file_the_url_names(
    raw: str, path: Path, params: dict[str, str], normalised: str, tmp_path: Path
) -> None:
    url = parse_database_url(raw)
    assert url.path is not None
    inside = url.path.relative_to(url.path.anchor) if url.path.is_absolute() else url.path
    target = tmp_path / inside
    target.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_sqlite(DatabaseUrl(engine="sqlite", path=target).sqlalchemy_url(), "CREATE"))
    # immutable=1 would hide the write from the check below; the rest are what the URL says.
    moved = replace(url, path=target, params={k: v for k, v in params.items() if k != "immutable"})
    if params.get("mode") == "ro":
        with pytest.raises(Exception, match="readonly database"):
            asyncio.run(_sqlite(moved.sqlalchemy_url(), "INSERT"))
    else:
        asyncio.run(_sqlite(moved.sqlalchemy_url(), "INSERT"))
    assert [p.name for p in target.parent.iterdir()] == [target.name]


async def _sqlite(url: str, statement: str) -> None:
    sql = "CREATE TABLE t (x INTEGER)" if statement == "CREATE" else "INSERT INTO t VALUES (1)"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


IN_MEMORY = "an in-memory SQLite database does not outlive one command"
SQLITE_SUPPORTED = "(supported: mode, cache, immutable, nolock, timeout, uri)"

SQLITE_BAD = [
    pytest.param("sqlite://", IN_MEMORY, id="empty"),
    pytest.param("sqlite:///", IN_MEMORY, id="empty-path"),
    pytest.param("sqlite:///:memory:", IN_MEMORY, id="memory"),
    pytest.param("sqlite+aiosqlite:///:memory:?cache=shared", IN_MEMORY, id="memory-query"),
    pytest.param("sqlite:///file::memory:?uri=true", IN_MEMORY, id="file-memory"),
    pytest.param("sqlite:///file:db1?mode=memory&cache=shared", IN_MEMORY, id="mode-memory"),
    pytest.param(
        "sqlite://host/app.sqlite",
        "a SQLite URL has no host: write sqlite:///relative/path or sqlite:////absolute/path",
        id="host",
    ),
    pytest.param(
        f"sqlite://u:{CANARY}@/app.sqlite",
        "a SQLite URL has no host: write sqlite:///relative/path or sqlite:////absolute/path",
        id="userinfo",
    ),
    pytest.param(
        "sqlite:///file://db.internal/app.sqlite",
        "a file: URI with a host: write file:/absolute/path",
        id="file-uri-host",
    ),
    pytest.param(
        "sqlite:///file:/srv/a%3Fb",
        "a '?' in a file: path: percent-encode it twice, as %253F",
        id="file-uri-question",
    ),
    pytest.param("sqlite:///a%FF", "the path is not valid percent-encoded UTF-8", id="not-utf8"),
    pytest.param(
        "sqlite:///file:/a%25FF", "the path is not valid percent-encoded UTF-8", id="uri-not-utf8"
    ),
    pytest.param("sqlite:///a%00b", "the path contains a NUL character", id="nul"),
    pytest.param("sqlite:///a.sqlite?mode=rx", "mode must be one of ro, rw, rwc", id="mode"),
    pytest.param(
        "sqlite:///a.sqlite?cache=none", "cache must be one of shared, private", id="cache"
    ),
    pytest.param("sqlite:///a.sqlite?immutable=yes", "immutable must be one of 0, 1", id="imm"),
    pytest.param("sqlite:///a.sqlite?nolock=2", "nolock must be one of 0, 1", id="nolock"),
    pytest.param("sqlite:///a.sqlite?uri=maybe", "uri must be true or false", id="uri"),
    *[
        pytest.param(
            f"sqlite:///a.sqlite?timeout={value}",
            "timeout must be a number of seconds from 0 to 3600",
            id=f"timeout-{value}",
        )
        for value in ("-1", "3601", "nan", "abc")
    ],
    pytest.param(
        "sqlite:///a.sqlite?isolation_level=x",
        f"unsupported parameter 'isolation_level' {SQLITE_SUPPORTED}",
        id="isolation-level",
    ),
    pytest.param(
        "sqlite:///a.sqlite?password=x&other=1",
        f"an unsupported query parameter {SQLITE_SUPPORTED}",
        id="password-beside",
    ),
    pytest.param(
        "sqlite:///a.sqlite#frag",
        "a '#' in the URL: percent-encode it as %23 (in a password too)",
        id="hash",
    ),
]


@pytest.mark.parametrize(("raw", "detail"), SQLITE_BAD)
def test_a_malformed_sqlite_url_is_invalid_input(raw: str, detail: str) -> None:
    error = parse_error(raw)
    assert error.detail == detail
    assert_no_piece_of(CANARY, str(error))


def test_sqlite_timeouts_at_the_bounds_are_accepted() -> None:
    for value in ("0", "3600", "0.25"):
        url = parse_database_url(f"sqlite:///a.sqlite?timeout={value}")
        assert url.params["timeout"] == value


def test_a_relative_sqlite_path_resolves_against_a_root(tmp_path: Path) -> None:
    url = parse_database_url("sqlite:///var/../data/app.sqlite?mode=rwc")
    resolved = url.resolved(tmp_path)
    assert resolved.path == (tmp_path / "data" / "app.sqlite").resolve()
    assert dict(resolved.params) == {"mode": "rwc"}
    assert resolved.normalised() == f"sqlite+aiosqlite:///file:{resolved.path}?mode=rwc&uri=true"
    assert resolved.resolved(tmp_path / "elsewhere") is resolved
    postgres = parse_database_url("postgresql://u@h/db")
    assert postgres.resolved(tmp_path) is postgres


def test_the_label_is_the_file_relative_to_the_cwd_or_the_masked_url(tmp_path: Path) -> None:
    inside = DatabaseUrl(engine="sqlite", path=tmp_path / "var" / "app.sqlite")
    assert inside.label(tmp_path) == str(Path("var/app.sqlite"))
    assert inside.label(tmp_path / "other") == str(tmp_path / "var" / "app.sqlite")
    relative = parse_database_url("sqlite:///var/app.sqlite")
    assert relative.label(tmp_path) == "var/app.sqlite"
    pg = parse_database_url(f"postgresql://u:{CANARY}@h/db")
    assert pg.label(tmp_path) == "postgresql+asyncpg://u:***@h/db"


def test_the_label_defaults_to_the_process_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = DatabaseUrl(engine="sqlite", path=tmp_path / "app.sqlite")
    assert url.label() == "app.sqlite"
