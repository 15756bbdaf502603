"""Parsing database URLs by hand (core/urls.py says why): PostgreSQL's and SQLite's forms, their
hosts, ports, paths and query parameters. Standard library only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backend.app.core.url_support import (
    _decode,
    _is_seconds,
    _parse_query,
    _Query,
    _unsupported,
)
from backend.app.core.urls import (
    MAX_CONNECT_TIMEOUT,
    POSTGRES_PARAMS,
    POSTGRES_SCHEMES,
    SQLITE_PARAMS,
    SQLITE_SCHEMES,
    SQLITE_URI_PARAMS,
    SSL_FILE_PARAMS,
    SSL_MODES,
    DatabaseUrl,
    _Bad,
)

_NO_AT_HOST = (
    "a password without '@host' (write postgresql://user:password@host/db), "
    "or a port that is not a number from 1 to 65535"
)
_IN_MEMORY = "an in-memory SQLite database does not outlive one command"
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]{0,39}")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,252})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse(text: str) -> DatabaseUrl:
    text = text.strip()
    if not text:
        raise _Bad("it is empty")
    if _CONTROL.search(text):
        raise _Bad("it contains a control character")
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or not _SCHEME.fullmatch(scheme):
        raise _Bad("not a URL (expected e.g. postgresql://user:password@host/db or sqlite:///path)")
    if "#" in rest:
        raise _Bad("a '#' in the URL: percent-encode it as %23 (in a password too)")
    if scheme in POSTGRES_SCHEMES:
        return _parse_postgres(rest)
    if scheme in SQLITE_SCHEMES:
        return _parse_sqlite(rest)
    raise _Bad(
        f"unsupported database driver {scheme!r}: use sqlite+aiosqlite or postgresql+asyncpg"
    )


def _parse_postgres(rest: str) -> DatabaseUrl:
    end = len(rest)
    for stop in "/?":
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority, tail = rest[:end], rest[end:]
    if "@" in tail:
        # Either an unencoded '/' or '?' in the password, or an '@' in the database name or a
        # parameter: which one cannot be told, and guessing wrong could print the password.
        raise _Bad(
            "an '@' after the host: percent-encode '@' as %40, and '/' and '?' in a password "
            "as %2F and %3F"
        )
    userinfo, at, hostport = authority.rpartition("@")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = _decode(name, "the user name") or None
        password = (_decode(secret, "the password") or None) if colon else None
    host, port = _host_and_port(hostport, has_userinfo=bool(at))
    path, _, query = tail.partition("?")
    database = None
    if path:
        name = path[1:]
        if "/" in name:
            raise _Bad("the database name contains '/': percent-encode it as %2F")
        database = _decode(name, "the database name") or None
    # With no '@' at all, `name:digits` may be `user:password` whose password goes on with an
    # unencoded '/' or '?' (postgresql://admin:12?A=1/prod): then the query's names are pieces
    # of it, and no message may echo them.
    params = _parse_query(query, quiet=not at and ":" in authority)

    def fold(name: str, current: Any, value: Any) -> Any:
        if value is None:
            return current
        if current is not None:
            raise _Bad(f"the {name} is given twice (in the URL and as ?{name}=)")
        return value

    host = fold("host", host, _query_host(params.pop("host", "")))
    port = fold("port", port, _port(params.pop("port", ""), ambiguous=False))
    user = fold("user", user, params.pop("user", "") or None)
    password = fold("password", password, params.pop("password", "") or None)
    database = fold("dbname", database, params.pop("dbname", "") or None)
    _check_postgres_params(params)
    return DatabaseUrl(
        engine="postgresql",
        user=user,
        password=password,
        host=host,
        port=port,
        database=database,
        params=params,
    )


def _host_and_port(hostport: str, *, has_userinfo: bool) -> tuple[str | None, int | None]:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise _Bad("unclosed '[' in the host")
        host = _ipv6(hostport[1:close].replace("%25", "%"))
        after = hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise _Bad("unexpected text after ']' in the host")
        return host, _port(after[1:], ambiguous=False)
    if "]" in hostport:
        raise _Bad("a ']' without '[' in the host")
    if "," in hostport:
        raise _Bad("several hosts are not supported: give one host")
    name, colon, port_text = hostport.rpartition(":")
    if not colon:
        name, port_text = hostport, ""
    port = _port(port_text, ambiguous=not has_userinfo)
    if ":" in name:
        raise _Bad("an IPv6 address must be in brackets, e.g. postgresql://user@[::1]:5432/db")
    return _host_name(_decode(name, "the host")), port


def _port(text: str, *, ambiguous: bool) -> int | None:
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535:
        return int(text)
    if ambiguous and not (text.isascii() and text.isdigit()):
        # host:word with no '@' before it is more often user:password than a mistyped port.
        raise _Bad(_NO_AT_HOST)
    raise _Bad("the port is not a number from 1 to 65535")


def _host_name(name: str) -> str | None:
    if not name:
        return None
    if name.startswith("/"):
        return name  # a Unix socket directory, percent-encoded in the authority as libpq allows
    if not _HOSTNAME.fullmatch(name):
        raise _Bad(
            "the host is not a host name, an IP address ([::1] for IPv6) or a socket directory"
        )
    return name


def _query_host(value: str) -> str | None:
    if not value:
        return None
    if "," in value:
        raise _Bad("several hosts are not supported: give one host")
    if value.startswith("/"):
        return value
    if value.startswith("["):
        raise _Bad("?host= takes an IPv6 address without brackets")
    if ":" in value:
        return _ipv6(value)
    return _host_name(value)


def _ipv6(text: str) -> str:
    import ipaddress

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise _Bad("the host is not a valid IPv6 address") from None
    return text


def _check_postgres_params(params: _Query) -> None:
    alias = params.pop("ssl", None)
    if alias is not None:
        # SQLAlchemy's documented spelling for asyncpg (?ssl=require): the same modes.
        if "sslmode" in params:
            raise _Bad("both ssl and sslmode are given: keep sslmode")
        if alias not in SSL_MODES:
            raise _Bad(f"ssl must be one of {', '.join(SSL_MODES)}")
        params["sslmode"] = alias
    for name in params:
        if name not in POSTGRES_PARAMS:
            supported = ", ".join(("host", "port", "user", "password", "dbname", *POSTGRES_PARAMS))
            raise _unsupported(name, params, supported)
    mode = params.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise _Bad(f"sslmode must be one of {', '.join(SSL_MODES)}")
    for name in SSL_FILE_PARAMS:
        if params.get(name) == "":
            raise _Bad(f"{name} is empty: name a file")
    if params.get("sslrootcert") == "system":
        if mode not in (None, "verify-full"):
            raise _Bad("sslrootcert=system needs sslmode=verify-full")
        params["sslmode"] = "verify-full"  # libpq's default with sslrootcert=system
    timeout = params.get("connect_timeout")
    if timeout is not None and not (
        timeout.isascii() and timeout.isdigit() and 1 <= int(timeout) <= MAX_CONNECT_TIMEOUT
    ):
        raise _Bad(
            f"connect_timeout must be a whole number of seconds from 1 to {MAX_CONNECT_TIMEOUT}"
        )


def _parse_sqlite(rest: str) -> DatabaseUrl:
    if not rest.startswith("/"):
        if not rest:
            raise _Bad(_IN_MEMORY)
        raise _Bad(
            "a SQLite URL has no host: write sqlite:///relative/path or sqlite:////absolute/path"
        )
    location, _, query = rest[1:].partition("?")
    params = _parse_query(query)
    path = _sqlite_path(location)
    if path in ("", ":memory:") or params.get("mode") == "memory":
        raise _Bad(_IN_MEMORY)
    _check_sqlite_params(params)
    return DatabaseUrl(engine="sqlite", params=params, path=Path(path))


def _sqlite_path(location: str) -> str:
    path = _decode(location, "the path")
    if not path.startswith("file:"):
        return path
    path = path[len("file:") :]
    if path.startswith("//"):
        authority, slash, remainder = path[2:].partition("/")
        if authority not in ("", "localhost"):
            raise _Bad("a file: URI with a host: write file:/absolute/path")
        path = slash + remainder
    if "?" in path:
        raise _Bad("a '?' in a file: path: percent-encode it twice, as %253F")
    return _decode(path, "the path")


def _check_sqlite_params(params: _Query) -> None:
    uri = params.pop("uri", None)
    # Whether SQLite reads a file: URI is decided from the parameters, so uri= only has to
    # be well-formed.
    if uri is not None and uri.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise _Bad("uri must be true or false")
    for name, value in params.items():
        allowed = SQLITE_URI_PARAMS.get(name)
        if allowed is not None:
            if value not in allowed:
                raise _Bad(f"{name} must be one of {', '.join(allowed)}")
        elif name == "timeout":
            if not _is_seconds(value):
                raise _Bad("timeout must be a number of seconds from 0 to 3600")
        else:
            supported = ", ".join((*SQLITE_PARAMS, "uri"))
            raise _unsupported(name, params, supported)
