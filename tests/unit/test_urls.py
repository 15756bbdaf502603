"""Database URLs: parsing, validation that never echoes a password, the translation of libpq's
parameters for asyncpg, and (with BACKEND_TEST_POSTGRES_URL) real connections that prove it."""

from __future__ import annotations

import asyncio
import ssl
import string
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app.core.urls import (
    PASSWORD_MASK,
    DatabaseUrl,
    InvalidDatabaseUrl,
    parse_database_url,
)
from backend.app.errors import INVALID_INPUT, InvalidInput

CANARY = "CANARYpw"
# Every character that has a meaning in a URL, and a percent sign that is not an escape.
NASTY = "p@ss:w/rd?x#y%z"


def pieces(secret: str, size: int = 3) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def assert_no_piece_of(secret: str, shown: str) -> None:
    leaked = [piece for piece in pieces(secret) if piece in shown]
    assert not leaked, f"{leaked} of the password in {shown!r}"


def parse_error(url: str) -> InvalidDatabaseUrl:
    with pytest.raises(InvalidDatabaseUrl) as caught:
        parse_database_url(url)
    return caught.value


# -- PostgreSQL URLs that parse ------------------------------------------------------------------

PG_GOOD = [
    pytest.param(
        "postgresql://app:s3cret@db.internal:5432/app",
        {"user": "app", "password": "s3cret", "host": "db.internal", "port": 5432},
        "postgresql+asyncpg://app:s3cret@db.internal:5432/app",
        id="user-password-host-port-db",
    ),
    pytest.param(
        "postgres://u@db.internal/app",
        {"user": "u", "host": "db.internal", "database": "app"},
        "postgresql+asyncpg://u@db.internal/app",
        id="postgres-scheme",
    ),
    pytest.param(
        "POSTGRESQL+ASYNCPG://u@Db.Internal/app",
        {"host": "Db.Internal"},
        "postgresql+asyncpg://u@Db.Internal/app",
        id="scheme-in-capitals",
    ),
    pytest.param(
        "  postgresql://u@h/app\n",
        {"host": "h"},
        "postgresql+asyncpg://u@h/app",
        id="surrounding-whitespace",
    ),
    pytest.param(
        "postgresql://u:p%40%3A%2F%3F%23%25ss@h/app",
        {"password": "p@:/?#%ss"},
        "postgresql+asyncpg://u:p%40%3A%2F%3F%23%25ss@h/app",
        id="percent-encoded-password",
    ),
    pytest.param(
        "postgresql://u:p@ss@h/app",
        {"user": "u", "password": "p@ss", "host": "h"},
        "postgresql+asyncpg://u:p%40ss@h/app",
        id="unencoded-at-in-password",
    ),
    pytest.param(
        "postgresql://u:a:b:c@h/app",
        {"user": "u", "password": "a:b:c"},
        "postgresql+asyncpg://u:a%3Ab%3Ac@h/app",
        id="colons-in-password",
    ),
    pytest.param(
        "postgresql://u:@h/app",
        {"user": "u", "password": None},
        "postgresql+asyncpg://u@h/app",
        id="empty-password",
    ),
    pytest.param(
        "postgresql://:pw@h/app",
        {"user": None, "password": "pw"},
        "postgresql+asyncpg://:pw@h/app",
        id="password-without-user",
    ),
    pytest.param(
        "postgresql://us%40er@h/my%20db",
        {"user": "us@er", "database": "my db"},
        "postgresql+asyncpg://us%40er@h/my%20db",
        id="encoded-user-and-database",
    ),
    pytest.param(
        "postgresql://u@[::1]:6432/app",
        {"host": "::1", "port": 6432},
        "postgresql+asyncpg://u@[::1]:6432/app",
        id="ipv6",
    ),
    pytest.param(
        "postgresql://u@[fe80::1%25eth0]/app",
        {"host": "fe80::1%eth0"},
        "postgresql+asyncpg://u@[fe80::1%eth0]/app",
        id="ipv6-zone",
    ),
    pytest.param(
        "postgresql://u@127.0.0.1:1/app",
        {"host": "127.0.0.1", "port": 1},
        "postgresql+asyncpg://u@127.0.0.1:1/app",
        id="lowest-port",
    ),
    pytest.param(
        "postgresql://u@h:65535/app",
        {"port": 65535},
        "postgresql+asyncpg://u@h:65535/app",
        id="highest-port",
    ),
    pytest.param(
        "postgresql://u@h:/app",
        {"port": None},
        "postgresql+asyncpg://u@h/app",
        id="empty-port",
    ),
    pytest.param(
        "postgresql://:5433/app",
        {"host": None, "port": 5433},
        "postgresql+asyncpg://:5433/app",
        id="port-without-host",
    ),
    pytest.param(
        "postgresql://",
        {"user": None, "host": None, "port": None, "database": None},
        "postgresql+asyncpg://",
        id="all-defaults",
    ),
    pytest.param(
        "postgresql://u@h/",
        {"database": None},
        "postgresql+asyncpg://u@h",
        id="empty-database",
    ),
    pytest.param(
        "postgresql://db_1.internal/app",
        {"host": "db_1.internal", "user": None},
        "postgresql+asyncpg://db_1.internal/app",
        id="underscore-in-host",
    ),
    pytest.param(
        "postgresql:///app?host=/var/run/postgresql",
        {"host": "/var/run/postgresql", "port": None},
        "postgresql+asyncpg:///app?host=/var/run/postgresql",
        id="unix-socket-query",
    ),
    pytest.param(
        "postgresql://%2Fvar%2Frun%2Fpostgresql:5433/app",
        {"host": "/var/run/postgresql", "port": 5433},
        "postgresql+asyncpg:///app?host=/var/run/postgresql&port=5433",
        id="unix-socket-encoded-in-authority",
    ),
    pytest.param(
        "postgresql:///app?host=/nonexistent&port=5433",
        {"host": "/nonexistent", "port": 5433},
        "postgresql+asyncpg:///app?host=/nonexistent&port=5433",
        id="socket-that-may-not-exist",
    ),
    pytest.param(
        "postgresql:///app?host=db.internal&port=6432",
        {"host": "db.internal", "port": 6432},
        "postgresql+asyncpg://db.internal:6432/app",
        id="tcp-host-query",
    ),
    pytest.param(
        "postgresql:///?host=::1",
        {"host": "::1"},
        "postgresql+asyncpg://[::1]",
        id="ipv6-host-query",
    ),
    pytest.param(
        "postgresql:///?user=u&password=p%26w&dbname=app",
        {"user": "u", "password": "p&w", "database": "app"},
        "postgresql+asyncpg://u:p%26w@/app",
        id="user-password-dbname-query",
    ),
    pytest.param(
        "postgresql://u@h/app?host=&port=&user=&password=&dbname=",
        {"user": "u", "host": "h", "port": None, "password": None, "database": "app"},
        "postgresql+asyncpg://u@h/app",
        id="empty-query-values-are-absent",
    ),
    pytest.param(
        "postgresql://u@h/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c.pem"
        "&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp&connect_timeout=7"
        "&application_name=my%20app%2Bx",
        {
            "params": {
                "sslmode": "verify-full",
                "sslrootcert": "/etc/ca.pem",
                "sslcert": "/c.pem",
                "sslkey": "/k.pem",
                "sslcrl": "/crl.pem",
                "sslpassword": "kp",
                "connect_timeout": "7",
                "application_name": "my app+x",
            }
        },
        "postgresql+asyncpg://u@h/app?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        "&sslcert=/c.pem&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp&connect_timeout=7"
        "&application_name=my%20app%2Bx",
        id="every-libpq-parameter",
    ),
    pytest.param(
        "postgresql://u@h/app?ssl=require",
        {"params": {"sslmode": "require"}},
        "postgresql+asyncpg://u@h/app?sslmode=require",
        id="sqlalchemy-ssl-spelling",
    ),
    pytest.param(
        "postgresql://u@h/app?sslrootcert=system",
        {"params": {"sslrootcert": "system", "sslmode": "verify-full"}},
        "postgresql+asyncpg://u@h/app?sslrootcert=system&sslmode=verify-full",
        id="sslrootcert-system-implies-verify-full",
    ),
    pytest.param(
        "postgresql://u@h:5432?sslmode=disable",
        {"port": 5432, "database": None},
        "postgresql+asyncpg://u@h:5432/?sslmode=disable",
        id="query-without-database",
    ),
    pytest.param(
        "postgresql://u@h/app?&sslmode=disable&",
        {"params": {"sslmode": "disable"}},
        "postgresql+asyncpg://u@h/app?sslmode=disable",
        id="stray-ampersands",
    ),
    pytest.param(
        "postgresql://u@h/app?connect_timeout=3600",
        {"params": {"connect_timeout": "3600"}},
        "postgresql+asyncpg://u@h/app?connect_timeout=3600",
        id="longest-connect-timeout",
    ),
]


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_a_postgresql_url_parses_to_its_parts(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    assert url.engine == "postgresql"
    assert url.path is None
    for name, expected in fields.items():
        actual = getattr(url, name)
        assert (dict(actual) if name == "params" else actual) == expected, name
    assert url.normalised() == normalised


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_the_normalised_form_parses_back_to_the_same_url(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    again = parse_database_url(url.normalised())
    assert again == url
    assert hash(again) == hash(url)
    assert again.normalised() == url.normalised()


@pytest.mark.parametrize(("raw", "fields", "normalised"), PG_GOOD)
def test_sqlalchemy_reads_the_same_target_from_sqlalchemy_url(
    raw: str, fields: dict[str, Any], normalised: str
) -> None:
    url = parse_database_url(raw)
    sa = make_url(url.sqlalchemy_url())
    assert sa.drivername == "postgresql+asyncpg"
    if url.is_socket:
        assert sa.host is None
        assert sa.query.get("host") == url.host
        assert sa.query.get("port") == (None if url.port is None else str(url.port))
    else:
        assert dict(sa.query) == {}  # libpq's parameters go to connect_args, not to SQLAlchemy
    _, kwargs = sa.get_dialect()().create_connect_args(sa)
    # Exactly what asyncpg.connect() gets from SQLAlchemy: keywords it accepts, and our parts.
    parts = {
        "user": url.user,
        "password": url.password,
        "host": url.host,
        "port": url.port,
        "database": url.database,
    }
    assert kwargs == {name: value for name, value in parts.items() if value is not None}


# -- malformed PostgreSQL URLs -------------------------------------------------------------------

NO_AT_HOST = (
    "a password without '@host' (write postgresql://user:password@host/db), "
    "or a port that is not a number from 1 to 65535"
)
BAD_PORT = "the port is not a number from 1 to 65535"
AT_AFTER_HOST = (
    "an '@' after the host: percent-encode '@' as %40, and '/' and '?' in a password as %2F and %3F"
)
SUPPORTED = (
    "(supported: host, port, user, password, dbname, sslmode, sslrootcert, sslcert, sslkey, "
    "sslcrl, sslpassword, connect_timeout, application_name)"
)
MODES = "disable, allow, prefer, require, verify-ca, verify-full"

BAD = [
    pytest.param(f"postgresql://admin:{CANARY}/prod", NO_AT_HOST, id="password-without-at-host"),
    pytest.param(f"postgresql://admin:{CANARY}", NO_AT_HOST, id="password-without-at-or-db"),
    pytest.param(f"postgresql://admin:{CANARY}?sslmode=disable", NO_AT_HOST, id="no-at-query"),
    pytest.param("postgresql://u@h:abc/db", BAD_PORT, id="port-abc"),
    pytest.param("postgresql://h:99999/db", BAD_PORT, id="port-99999"),
    pytest.param("postgresql://u@h:0/db", BAD_PORT, id="port-0"),
    pytest.param("postgresql://u@h:65536/db", BAD_PORT, id="port-65536"),
    pytest.param("postgresql://u@h:000005432/db", BAD_PORT, id="port-too-long"),
    pytest.param("postgresql://u@h:-1/db", BAD_PORT, id="port-negative"),
    pytest.param("postgresql://u@h:\u0661\u0662/db", BAD_PORT, id="port-arabic-digits"),
    pytest.param("postgresql://u@h/db?port=abc", BAD_PORT, id="port-query-abc"),
    pytest.param("postgresql://u@[::1/db", "unclosed '[' in the host", id="unclosed-bracket"),
    pytest.param("postgresql://u@::1]/db", "a ']' without '[' in the host", id="lone-bracket"),
    pytest.param(
        "postgresql://u@[::1]x/db", "unexpected text after ']' in the host", id="after-bracket"
    ),
    pytest.param(
        "postgresql://u@[nothost]/db", "the host is not a valid IPv6 address", id="bad-ipv6"
    ),
    pytest.param(
        "postgresql://u@::1/db",
        "an IPv6 address must be in brackets, e.g. postgresql://user@[::1]:5432/db",
        id="ipv6-without-brackets",
    ),
    pytest.param(
        "postgresql://u@h1,h2/db",
        "several hosts are not supported: give one host",
        id="several-hosts",
    ),
    pytest.param(
        "postgresql:///db?host=h1,h2",
        "several hosts are not supported: give one host",
        id="several-hosts-query",
    ),
    pytest.param(
        "postgresql:///db?host=[::1]",
        "?host= takes an IPv6 address without brackets",
        id="bracketed-host-query",
    ),
    pytest.param(
        "postgresql://u@bad%20host/db",
        "the host is not a host name, an IP address ([::1] for IPv6) or a socket directory",
        id="space-in-host",
    ),
    pytest.param(
        "postgresql:///db?host=-h",
        "the host is not a host name, an IP address ([::1] for IPv6) or a socket directory",
        id="bad-host-query",
    ),
    pytest.param(
        f"postgresql://u:{CANARY}/x@h/db", AT_AFTER_HOST, id="unencoded-slash-in-password"
    ),
    pytest.param(
        f"postgresql://u:{CANARY}?x@h/db", AT_AFTER_HOST, id="unencoded-question-in-password"
    ),
    pytest.param("postgresql://u:12/34@h/db", AT_AFTER_HOST, id="digits-and-slash-in-password"),
    pytest.param("postgresql://h/db?application_name=a@b", AT_AFTER_HOST, id="at-in-query"),
    pytest.param(
        f"postgresql://u:{CANARY}#x@h/db",
        "a '#' in the URL: percent-encode it as %23 (in a password too)",
        id="unencoded-hash-in-password",
    ),
    pytest.param(
        "postgresql://u@h/a/b",
        "the database name contains '/': percent-encode it as %2F",
        id="slash-in-database",
    ),
    pytest.param(
        "postgresql://u@h/db?host=/tmp",
        "the host is given twice (in the URL and as ?host=)",
        id="host-twice",
    ),
    pytest.param(
        "postgresql://u@h:5432/db?port=5433",
        "the port is given twice (in the URL and as ?port=)",
        id="port-twice",
    ),
    pytest.param(
        "postgresql://u@h/db?user=v",
        "the user is given twice (in the URL and as ?user=)",
        id="user-twice",
    ),
    pytest.param(
        f"postgresql://u:{CANARY}@h/db?password=x",
        "the password is given twice (in the URL and as ?password=)",
        id="password-twice",
    ),
    pytest.param(
        "postgresql://u@h/db?dbname=x",
        "the dbname is given twice (in the URL and as ?dbname=)",
        id="dbname-twice",
    ),
    pytest.param(
        "postgresql://u@h/db?sslmode=require&sslmode=disable",
        "the parameter 'sslmode' is given twice",
        id="parameter-twice",
    ),
    pytest.param(
        "postgresql://u@h/db?ssl=require&sslmode=require",
        "both ssl and sslmode are given: keep sslmode",
        id="ssl-and-sslmode",
    ),
    pytest.param("postgresql://u@h/db?ssl=true", f"ssl must be one of {MODES}", id="ssl-true"),
    pytest.param(
        "postgresql://u@h/db?sslmode=REQUIRE", f"sslmode must be one of {MODES}", id="sslmode-case"
    ),
    pytest.param(
        "postgresql://u@h/db?sslmode=", f"sslmode must be one of {MODES}", id="sslmode-empty"
    ),
    pytest.param(
        "postgresql://u@h/db?sslrootcert=", "sslrootcert is empty: name a file", id="empty-root"
    ),
    pytest.param("postgresql://u@h/db?sslcert=", "sslcert is empty: name a file", id="empty-cert"),
    pytest.param("postgresql://u@h/db?sslkey=", "sslkey is empty: name a file", id="empty-key"),
    pytest.param("postgresql://u@h/db?sslcrl=", "sslcrl is empty: name a file", id="empty-crl"),
    pytest.param(
        "postgresql://u@h/db?sslrootcert=system&sslmode=require",
        "sslrootcert=system needs sslmode=verify-full",
        id="system-root-with-weak-mode",
    ),
    *[
        pytest.param(
            f"postgresql://u@h/db?connect_timeout={value}",
            "connect_timeout must be a whole number of seconds from 1 to 3600",
            id=f"connect-timeout-{value or 'empty'}",
        )
        for value in ("0", "3601", "1.5", "-1", "abc", "")
    ],
    pytest.param(
        "postgresql://u@h/db?options=-c%20x",
        f"unsupported parameter 'options' {SUPPORTED}",
        id="options",
    ),
    pytest.param(
        "postgresql://u@h/db?prepared_statement_cache_size=0",
        f"unsupported parameter 'prepared_statement_cache_size' {SUPPORTED}",
        id="sqlalchemy-only-parameter",
    ),
    pytest.param(
        f"postgresql://u@h/db?PASSWORD={CANARY}",
        f"an unsupported query parameter {SUPPORTED}",
        id="password-in-capitals",
    ),
    pytest.param(
        f"postgresql://u@h/db?password=ab&{CANARY}=1",
        f"an unsupported query parameter {SUPPORTED}",
        id="no-name-is-echoed-beside-a-password",
    ),
    pytest.param(
        f"postgresql://u@h/db?password=ab&{CANARY}=1&{CANARY}=2",
        "a parameter is given twice",
        id="no-duplicate-is-named-beside-a-password",
    ),
    pytest.param(
        "postgresql://u@h/db?sslpassword=ab&application_name=%FF",
        "the value of a query parameter is not valid percent-encoded UTF-8",
        id="no-value-is-named-beside-a-password",
    ),
    pytest.param(
        f"postgresql://u@h/db?{CANARY}%21=1",
        f"an unsupported query parameter {SUPPORTED}",
        id="unshowable-parameter-name",
    ),
    pytest.param(
        f"postgresql://u@h/db?{CANARY}",
        "a query parameter without '=' (write name=value)",
        id="parameter-without-value",
    ),
    pytest.param(
        "postgresql://u:%FF%FE@h/db",
        "the password is not valid percent-encoded UTF-8",
        id="password-not-utf8",
    ),
    pytest.param(
        "postgresql://u:a%00b@h/db", "the password contains a NUL character", id="nul-password"
    ),
    pytest.param(
        "postgresql://%FF@h/db", "the user name is not valid percent-encoded UTF-8", id="bad-user"
    ),
    pytest.param(
        "postgresql://u@h/%FF", "the database name is not valid percent-encoded UTF-8", id="bad-db"
    ),
    pytest.param(
        "postgresql://u@%FF/db", "the host is not valid percent-encoded UTF-8", id="bad-host"
    ),
    pytest.param(
        "postgresql://u@h/db?%FF=1",
        "a query parameter's name is not valid percent-encoded UTF-8",
        id="bad-parameter-name",
    ),
    pytest.param(
        "postgresql://u@h/db?application_name=%FF",
        "the value of 'application_name' is not valid percent-encoded UTF-8",
        id="bad-parameter-value",
    ),
    pytest.param("", "it is empty", id="empty"),
    pytest.param("   ", "it is empty", id="blank"),
    pytest.param(
        f"postgresql://u:{CANARY}\n@h/db", "it contains a control character", id="newline"
    ),
    pytest.param(
        f"postgresql://u:{CANARY}\x7f@h/db", "it contains a control character", id="delete-char"
    ),
    pytest.param(
        f"u:{CANARY}@h/db",
        "not a URL (expected e.g. postgresql://user:password@host/db or sqlite:///path)",
        id="no-scheme",
    ),
    pytest.param(
        f"{CANARY}://u@h/db!",
        "unsupported database driver 'canarypw': use sqlite+aiosqlite or postgresql+asyncpg",
        id="scheme-is-echoed-only-as-a-scheme",
    ),
    pytest.param(
        f"pg sql://u:{CANARY}@h/db",
        "not a URL (expected e.g. postgresql://user:password@host/db or sqlite:///path)",
        id="scheme-that-is-not-one",
    ),
    pytest.param(
        f"mysql://app:{CANARY}@db/app",
        "unsupported database driver 'mysql': use sqlite+aiosqlite or postgresql+asyncpg",
        id="mysql",
    ),
    pytest.param(
        "postgresql+psycopg://u@h/db",
        "unsupported database driver 'postgresql+psycopg': use sqlite+aiosqlite or "
        "postgresql+asyncpg",
        id="other-postgres-driver",
    ),
]


@pytest.mark.parametrize(("raw", "detail"), BAD)
def test_a_malformed_url_is_invalid_input_naming_the_bad_part(raw: str, detail: str) -> None:
    error = parse_error(raw)
    assert isinstance(error, InvalidInput)
    assert error.exit_code == INVALID_INPUT
    assert error.detail == detail
    assert str(error) == f"invalid database_url: {detail}"
    assert error.field == "database_url"
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert_no_piece_of(CANARY, str(error))
    if raw.strip():
        assert raw.strip() not in str(error)


def test_the_setting_named_in_messages_can_be_another() -> None:
    with pytest.raises(InvalidDatabaseUrl) as caught:
        parse_database_url("postgresql://u@h:0/db", setting="BACKEND_TEST_POSTGRES_URL")
    assert str(caught.value) == f"invalid BACKEND_TEST_POSTGRES_URL: {BAD_PORT}"
    assert caught.value.field == "BACKEND_TEST_POSTGRES_URL"


MESSAGES = " ".join(str(case.values[1]) for case in BAD)


@given(
    password=st.text(alphabet=string.ascii_uppercase + string.digits + "@:/?#%&=[]+ é", min_size=6)
)
def test_no_malformed_url_echoes_any_piece_of_its_password(password: str) -> None:
    for shape in (
        "postgresql://admin:{}/prod",
        "postgresql://admin:{}@h:x/db",
        "postgresql://admin:{}@h/db?bogus=1",
        "postgresql://admin:{}@[::1/db",
        "postgresql://u@h/db?password={}&nope=1",
        "postgresql://u@h/db?application_name=x&password={}&x=1",
        "postgresql://u@h/db?sslpassword={}&sslmode=x",
    ):
        url = shape.format(password)
        message = None
        try:
            parsed = parse_database_url(url)
        except InvalidDatabaseUrl as error:
            message = str(error)
        if message is None:
            # It parsed (an '@' in the "password" made the rest a host): what is shown must not
            # depend on what it parsed as passwords.
            params = {k: "x" if "password" in k else v for k, v in parsed.params.items()}
            stand_in = replace(parsed, password=parsed.password and "x", params=params)
            assert parsed.masked() == stand_in.masked(), url
            assert repr(parsed) == repr(stand_in), url
            continue
        elsewhere = url.replace(password, " ") + MESSAGES
        for piece in pieces(password, 4):
            if piece not in elsewhere:
                assert piece not in message, (url, message)


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


# -- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        pytest.param(
            f"postgresql://u:{CANARY}@h:5432/db",
            "postgresql+asyncpg://u:***@h:5432/db",
            id="password",
        ),
        pytest.param(
            f"postgresql://u:{quote(NASTY, safe='')}@h/db",
            "postgresql+asyncpg://u:***@h/db",
            id="nasty-password",
        ),
        pytest.param(
            f"postgresql://:{CANARY}@h/db", "postgresql+asyncpg://:***@h/db", id="no-user"
        ),
        pytest.param("postgresql://u@h/db", "postgresql+asyncpg://u@h/db", id="no-password"),
        pytest.param(
            f"postgresql:///db?user=u&password={CANARY}&host=/run/pg&sslpassword={CANARY}"
            "&sslmode=require",
            "postgresql+asyncpg://u:***@/db?host=/run/pg&sslpassword=***&sslmode=require",
            id="query-passwords",
        ),
    ],
)
def test_masked_hides_every_password(raw: str, masked: str) -> None:
    url = parse_database_url(raw)
    assert url.masked() == masked
    assert repr(url) == f"DatabaseUrl({masked!r})"
    assert str(url) == repr(url)
    for shown in (url.masked(), repr(url), str(url)):
        assert_no_piece_of(CANARY, shown)
        assert_no_piece_of(NASTY, shown)


def test_masked_uses_the_password_mask() -> None:
    assert PASSWORD_MASK == "***"
    url = parse_database_url("postgresql://u:***@h/db")
    assert url.password == "***"
    assert url.normalised() == "postgresql+asyncpg://u:%2A%2A%2A@h/db"
    assert parse_database_url(url.normalised()) == url


@given(
    user=st.none() | st.text(min_size=1, max_size=12),
    password=st.none() | st.text(min_size=1, max_size=24).filter(lambda s: "\x00" not in s),
    host=st.none() | st.sampled_from(["db.internal", "::1", "/var/run/postgresql", "127.0.0.1"]),
    port=st.none() | st.integers(1, 65535),
    database=st.none() | st.text(min_size=1, max_size=12),
    app=st.none() | st.text(max_size=12),
)
def test_any_url_round_trips_and_masks_its_password(
    user: str | None,
    password: str | None,
    host: str | None,
    port: int | None,
    database: str | None,
    app: str | None,
) -> None:
    if any(part is not None and "\x00" in part for part in (user, database, app)):
        return
    params = {} if app is None else {"application_name": app}
    url = DatabaseUrl(
        engine="postgresql",
        user=user,
        password=password,
        host=host,
        port=port,
        database=database,
        params=params,
    )
    assert parse_database_url(url.normalised()) == url
    sa = make_url(url.sqlalchemy_url())
    assert (sa.username or None, sa.password or None, sa.database or None) == (
        user,
        password,
        database,
    )
    # The masked form is the URL with the password, and only the password, replaced.
    mask = quote(PASSWORD_MASK, safe="")
    with_mask = replace(url, password=None if password is None else PASSWORD_MASK)
    assert url.masked() == with_mask.normalised().replace(f":{mask}@", f":{PASSWORD_MASK}@")


def test_a_url_is_immutable_and_hashable() -> None:
    url = parse_database_url("postgresql://u@h/db?sslmode=disable")
    with pytest.raises(TypeError):
        url.params["sslmode"] = "require"  # type: ignore[index]
    with pytest.raises(AttributeError):
        url.host = "other"  # type: ignore[misc]
    assert {url: 1}[parse_database_url("postgres://u@h/db?sslmode=disable")] == 1


# -- what asyncpg and psql get -------------------------------------------------------------------


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, str]:
    files = {}
    for name in ("sslrootcert", "sslcert", "sslkey", "sslcrl"):
        path = tmp_path / f"{name}.pem"
        path.write_text("not really a certificate\n", encoding="utf-8")
        files[name] = str(path)
    return files


def test_connect_args_translate_every_libpq_parameter(certs: dict[str, str]) -> None:
    query = "&".join(f"{name}={quote(path)}" for name, path in certs.items())
    url = parse_database_url(
        f"postgresql://u@h/db?sslmode=verify-ca&{query}&sslpassword=k%26p"
        "&connect_timeout=7&application_name=my%20app"
    )
    dsn_query = "&".join(f"{name}={quote(path)}" for name, path in certs.items())
    assert url.connect_args() == {
        "ssl": "verify-ca",
        "dsn": f"postgresql://?{dsn_query}&sslpassword=k%26p",
        "timeout": 7.0,
        "server_settings": {"application_name": "my app"},
    }


@pytest.mark.parametrize(
    ("query", "args"),
    [
        pytest.param("", {}, id="nothing"),
        *[
            pytest.param(f"sslmode={mode}", {"ssl": mode}, id=mode)
            for mode in ("disable", "allow", "prefer", "require")
        ],
        pytest.param("connect_timeout=1", {"timeout": 1.0}, id="timeout"),
        pytest.param(
            "application_name=",
            {"server_settings": {"application_name": ""}},
            id="empty-application-name",
        ),
        pytest.param(
            "sslmode=disable&sslrootcert=/nowhere/ca.pem",
            {"ssl": "disable", "dsn": "postgresql://?sslrootcert=/nowhere/ca.pem"},
            id="files-unchecked-when-disabled",
        ),
        pytest.param(
            "sslpassword=pw", {"dsn": "postgresql://?sslpassword=pw"}, id="sslpassword-only"
        ),
    ],
)
def test_connect_args(query: str, args: dict[str, Any]) -> None:
    assert parse_database_url(f"postgresql://u@h/db?{query}").connect_args() == args


@pytest.mark.parametrize("name", ["sslrootcert", "sslcert", "sslkey", "sslcrl"])
@pytest.mark.parametrize("mode", [None, "allow", "prefer", "require", "verify-ca", "verify-full"])
def test_a_missing_file_is_invalid_input_naming_the_parameter(
    name: str, mode: str | None, certs: dict[str, str], tmp_path: Path
) -> None:
    params = {**certs, name: str(tmp_path / "missing.pem")}
    if mode is not None:
        params["sslmode"] = mode
    url = DatabaseUrl(engine="postgresql", host="h", params=params)
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == f"the {name} file does not exist or cannot be read"


def test_a_directory_is_not_a_certificate_file(tmp_path: Path) -> None:
    url = DatabaseUrl(engine="postgresql", params={"sslrootcert": str(tmp_path)})
    with pytest.raises(InvalidDatabaseUrl, match="sslrootcert file does not exist"):
        url.connect_args()


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_verifying_without_a_root_certificate_says_which_parameter_to_add(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    url = parse_database_url(f"postgresql://u@h/db?sslmode={mode}")
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == (
        f"sslmode={mode} needs the server's CA certificate: add sslrootcert=/path/to/ca.pem "
        "(or sslrootcert=system for the system's CAs)"
    )
    # asyncpg's own fallbacks count: ~/.postgresql/root.crt, then $PGSSLROOTCERT.
    (tmp_path / ".postgresql").mkdir()
    (tmp_path / ".postgresql" / "root.crt").write_text("ca\n", encoding="utf-8")
    assert url.connect_args() == {"ssl": mode}
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / "absent.crt"))
    with pytest.raises(InvalidDatabaseUrl):
        url.connect_args()
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / ".postgresql" / "root.crt"))
    monkeypatch.setenv("HOME", str(tmp_path / "nowhere"))
    assert url.connect_args() == {"ssl": mode}


def test_require_does_not_need_a_root_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_database_url("postgresql://h/db?sslmode=require").connect_args() == {
        "ssl": "require"
    }


def test_sslrootcert_system_is_a_verifying_context_on_the_system_cas() -> None:
    url = parse_database_url("postgresql://u@h/db?sslrootcert=system&connect_timeout=5")
    args = url.connect_args()
    context = args.pop("ssl")
    assert args == {"timeout": 5.0}
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_sslrootcert_system_with_an_unloadable_client_certificate(
    certs: dict[str, str],
) -> None:
    url = DatabaseUrl(
        engine="postgresql",
        params={"sslrootcert": "system", "sslmode": "verify-full", "sslcert": certs["sslcert"]},
    )
    with pytest.raises(InvalidDatabaseUrl) as caught:
        url.connect_args()
    assert caught.value.detail == (
        "the sslcert, sslkey or sslcrl file could not be loaded "
        "(wrong format, or a wrong sslpassword)"
    )
    crl = DatabaseUrl(
        engine="postgresql",
        params={"sslrootcert": "system", "sslmode": "verify-full", "sslcrl": certs["sslcrl"]},
    )
    with pytest.raises(InvalidDatabaseUrl):
        crl.connect_args()


def test_libpq_environment_has_every_part_for_psql() -> None:
    url = parse_database_url(
        f"postgresql://u%40x:{quote(NASTY, safe='')}@db.internal:6432/my%20db?sslmode=verify-full"
        "&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslcrl=/crl.pem&sslpassword=kp"
        "&connect_timeout=9&application_name=ops"
    )
    assert url.libpq_environment() == {
        "PGHOST": "db.internal",
        "PGPORT": "6432",
        "PGUSER": "u@x",
        "PGPASSWORD": NASTY,
        "PGDATABASE": "my db",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/ca.pem",
        "PGSSLCERT": "/c.pem",
        "PGSSLKEY": "/k.pem",
        "PGSSLCRL": "/crl.pem",
        "PGCONNECT_TIMEOUT": "9",
        "PGAPPNAME": "ops",
    }


@pytest.mark.parametrize(
    ("raw", "env"),
    [
        pytest.param("postgresql://", {}, id="nothing"),
        pytest.param(
            "postgresql:///db?host=/run/postgresql",
            {"PGHOST": "/run/postgresql", "PGDATABASE": "db"},
            id="socket",
        ),
        pytest.param("postgresql://[::1]", {"PGHOST": "::1"}, id="ipv6-without-brackets"),
    ],
)
def test_libpq_environment_sets_only_what_the_url_says(raw: str, env: dict[str, str]) -> None:
    assert parse_database_url(raw).libpq_environment() == env


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
