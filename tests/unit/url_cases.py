"""Shared cases of the URL tests: malformed URLs with the detail each must name, and helpers
that prove no piece of a password leaks."""

from __future__ import annotations

import pytest

from backend.app.core.urls import (
    InvalidDatabaseUrl,
    parse_database_url,
)

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
