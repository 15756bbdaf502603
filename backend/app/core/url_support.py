"""Helpers of database URLs: query strings decoded without echoing a value, and the certificate
files a PostgreSQL URL names, checked before asyncpg would fail on them. Standard library only."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from backend.app.core.urls import (
    SSL_FILE_PARAMS,
    DatabaseUrl,
    InvalidDatabaseUrl,
    _Bad,
    _readable_file,
)

if TYPE_CHECKING:
    import ssl

# A query parameter's name is shown in a message only when it cannot be a piece of a password.
_SHOWABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,39}")


def check_files(url: DatabaseUrl, mode: str | None) -> None:
    """Every certificate file the URL names exists and can be read (asyncpg would fail later)."""
    for name in SSL_FILE_PARAMS:
        value = url.params.get(name)
        if value is not None and value != "system" and not _readable_file(value):
            raise InvalidDatabaseUrl(f"the {name} file does not exist or cannot be read")
    if mode in ("verify-ca", "verify-full") and "sslrootcert" not in url.params:
        # asyncpg's fallbacks, checked here so the user hears which parameter to add.
        fallback = os.environ.get("PGSSLROOTCERT") or str(
            Path("~/.postgresql/root.crt").expanduser()
        )
        if not _readable_file(fallback):
            raise InvalidDatabaseUrl(
                f"sslmode={mode} needs the server's CA certificate: add "
                "sslrootcert=/path/to/ca.pem (or sslrootcert=system for the system's CAs)"
            )


def system_ssl_context(url: DatabaseUrl) -> ssl.SSLContext:
    import ssl

    # What libpq does for sslrootcert=system: the system's CAs, and the host name checked.
    context = ssl.create_default_context()
    try:
        if "sslcrl" in url.params:
            context.load_verify_locations(cafile=url.params["sslcrl"])
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
        if "sslcert" in url.params:
            context.load_cert_chain(
                url.params["sslcert"],
                keyfile=url.params.get("sslkey"),
                password=url.params.get("sslpassword"),
            )
    except (ssl.SSLError, OSError):
        raise InvalidDatabaseUrl(
            "the sslcert, sslkey or sslcrl file could not be loaded "
            "(wrong format, or a wrong sslpassword)"
        ) from None
    return context


def _is_seconds(value: str) -> bool:
    try:
        seconds = float(value)
    except ValueError:
        return False
    return 0 <= seconds <= 3600  # False for nan too


class _Query(dict[str, str]):
    """Query parameters; ``quiet`` when their names must not be echoed either."""

    quiet = False


def _parse_query(query: str, *, quiet: bool = False) -> _Query:
    """The parameters of ``query``; ``quiet`` when the caller knows their names could be pieces
    of a password (see _parse_postgres)."""
    params = _Query()
    # An unencoded '&' in a ?password= value splits it, and the rest reads as a parameter:
    # its "name" may be a piece of the password.
    params.quiet = quiet or "password" in query.lower()
    for item in query.split("&"):
        if not item:
            continue
        raw_name, eq, raw_value = item.partition("=")
        if not eq:
            raise _Bad("a query parameter without '=' (write name=value)")
        name = _decode(raw_name, "a query parameter's name")
        shown = _shown(name, params)
        value = _decode(raw_value, f"the value of {shown or 'a query parameter'}")
        if name in params:
            raise _Bad(
                f"the parameter {shown} is given twice" if shown else "a parameter is given twice"
            )
        params[name] = value
    return params


def _decode(text: str, what: str) -> str:
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise _Bad(f"{what} is not valid percent-encoded UTF-8") from None
    if "\x00" in decoded:
        raise _Bad(f"{what} contains a NUL character")
    return decoded


def _shown(name: str, params: _Query) -> str | None:
    """A parameter's name for a message, or None when it could be a piece of a password."""
    if params.quiet or not _SHOWABLE_NAME.fullmatch(name):
        return None
    return repr(name)


def _unsupported(name: str, params: _Query, supported: str) -> _Bad:
    shown = _shown(name, params)
    if shown is None:
        return _Bad(f"an unsupported query parameter (supported: {supported})")
    return _Bad(f"unsupported parameter {shown} (supported: {supported})")
