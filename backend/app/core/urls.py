"""Database URLs: parsed once, validated, and turned into what each consumer needs.

A URL arrives as text (``APP_DATABASE_URL``, a profile, a flag) and may carry a password, so
nothing here ever puts the text, or any part of it that could be a password, into an error
message. The URL is parsed by hand rather than with ``urllib.parse``: that parser guesses (a
password holding ``/`` or ``#`` silently becomes a path or a fragment, ``host:password`` becomes a
port) and its errors quote what they choke on.

PostgreSQL URLs take libpq's query parameters, as hosting providers hand them out, and translate
them for asyncpg, which SQLAlchemy calls with every query parameter of its URL as a keyword
argument (``asyncpg.connect()`` has no ``sslmode`` keyword). So :meth:`DatabaseUrl.sqlalchemy_url`
keeps only what asyncpg accepts as keywords and :meth:`DatabaseUrl.connect_args` carries the rest.

Standard library only: the CLI parses the URL on its start-up path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote

from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    import ssl

Engine = Literal["sqlite", "postgresql"]

PASSWORD_MASK = "***"  # noqa: S105 (the mask, not a password)

POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")
SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq's file parameters, in the order libpq documents them.
SSL_FILE_PARAMS = ("sslrootcert", "sslcert", "sslkey", "sslcrl")
# Query parameters kept in ``params``: what a URL may say beyond user, password, host, port and
# database (which libpq also takes as ``?user=``, ``?password=``, ``?host=``, ``?port=``,
# ``?dbname=``, folded into the fields).
POSTGRES_PARAMS = (
    "sslmode",
    *SSL_FILE_PARAMS,
    "sslpassword",
    "connect_timeout",
    "application_name",
)
SQLITE_URI_PARAMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mode": ("ro", "rw", "rwc"),
        "cache": ("shared", "private"),
        "immutable": ("0", "1"),
        "nolock": ("0", "1"),
    }
)
SQLITE_PARAMS = (*SQLITE_URI_PARAMS, "timeout")
MAX_CONNECT_TIMEOUT = 3600

_NO_AT_HOST = (
    "a password without '@host' (write postgresql://user:password@host/db), "
    "or a port that is not a number from 1 to 65535"
)
_IN_MEMORY = "an in-memory SQLite database does not outlive one command"
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]{0,39}")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,252})")
_SHOWABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,39}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters a path keeps as they are in the URLs this module writes; everything else, and
# always '%', '?' and '#', is percent-encoded.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


class InvalidDatabaseUrl(InvalidInput):
    """A database URL that cannot be used (exit 2). ``detail`` names the bad part, never its text.

    ``str()`` is ``invalid <setting>: <detail>``; a settings validator that names the setting
    itself raises ``ValueError(detail)`` instead.
    """

    def __init__(self, detail: str, *, setting: str = "database_url") -> None:
        super().__init__(f"invalid {setting}: {detail}", field=setting)
        self.detail = detail


class _Bad(Exception):
    """Raised while parsing; turned into InvalidDatabaseUrl naming the setting."""


@dataclass(frozen=True, repr=False)
class DatabaseUrl:
    """A parsed, validated database URL. ``repr()`` and ``str()`` mask every password.

    PostgreSQL fields are None when the URL leaves them out (asyncpg and libpq then use their
    defaults: ``PGHOST``..., a Unix socket or localhost, the OS user). ``host`` is a host name,
    a bare IP address (``::1``) or an absolute Unix socket directory. ``params`` holds the
    remaining libpq parameters (``POSTGRES_PARAMS``) or SQLite's (``SQLITE_PARAMS``), validated.
    ``path`` is the SQLite file, relative until :meth:`resolved`.
    """

    engine: Engine
    user: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        # Frozen all the way down: nobody can slip an unvalidated parameter in afterwards.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __hash__(self) -> int:
        return hash(self.normalised())

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.masked()!r})"

    @property
    def is_socket(self) -> bool:
        """Whether ``host`` is a Unix socket directory rather than a network host."""
        return self.host is not None and self.host.startswith("/")

    # -- forms -----------------------------------------------------------------------------------

    def normalised(self) -> str:
        """The form settings store: the async driver's scheme, libpq parameters kept in the query.

        It holds the password. :func:`parse_database_url` reads it back to an equal DatabaseUrl.
        """
        if self.engine == "sqlite":
            return self._sqlite_url()
        return self._postgres_url(password=_quote_secret(self.password), params=self.params)

    def sqlalchemy_url(self) -> str:
        """What ``create_async_engine`` gets, with the password; see :meth:`connect_args`."""
        if self.engine == "sqlite":
            return self._sqlite_url()
        return self._postgres_url(password=_quote_secret(self.password), params={})

    def masked(self) -> str:
        """:meth:`normalised` with every password masked: safe to print."""
        if self.engine == "sqlite":
            return self._sqlite_url()
        masked = None if self.password is None else PASSWORD_MASK
        return self._postgres_url(password=masked, params=self.params, mask_params=True)

    def label(self, cwd: Path | None = None) -> str:
        """How the database is named to a human: the SQLite file (relative to ``cwd`` when it is
        inside it), or the masked URL."""
        if self.path is None:
            return self.masked()
        base = Path(os.getcwd()) if cwd is None else cwd
        try:
            return str(self.path.relative_to(base))
        except ValueError:
            return str(self.path)

    def resolved(self, root: Path) -> DatabaseUrl:
        """The same URL with a relative SQLite path made absolute against ``root``."""
        if self.path is None or self.path.is_absolute():
            return self
        return replace(self, path=(root / self.path).resolve())

    # -- what the drivers and tools get ----------------------------------------------------------

    def connect_args(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.connect()`` (SQLAlchemy's ``connect_args``).

        ``sslmode`` becomes ``ssl`` (the mode string, which asyncpg interprets as libpq does);
        ``sslrootcert=system`` becomes an ``ssl.SSLContext`` on the system's CAs;
        ``connect_timeout`` becomes ``timeout``; ``application_name`` becomes
        ``server_settings``; the file parameters and ``sslpassword`` travel in ``dsn``, the only
        way asyncpg takes them (its keyword arguments override the rest of a DSN, so the DSN
        carries nothing else). Files the URL names must exist when this is called; it raises
        InvalidDatabaseUrl naming the parameter otherwise. Empty for SQLite.
        """
        if self.engine == "sqlite":
            return {}
        args: dict[str, Any] = {}
        mode = self.params.get("sslmode")
        if mode != "disable":
            self._check_files(mode)
        if self.params.get("sslrootcert") == "system":
            args["ssl"] = self._system_ssl_context()
        else:
            if mode is not None:
                args["ssl"] = mode
            in_dsn = [
                (name, self.params[name])
                for name in (*SSL_FILE_PARAMS, "sslpassword")
                if name in self.params
            ]
            if in_dsn:
                args["dsn"] = "postgresql://?" + _encode_query(in_dsn)
        if "connect_timeout" in self.params:
            args["timeout"] = float(self.params["connect_timeout"])
        if "application_name" in self.params:
            args["server_settings"] = {"application_name": self.params["application_name"]}
        return args

    def libpq_environment(self) -> dict[str, str]:
        """``PG*`` variables that point libpq tools (``psql``) at this database.

        The password travels as ``PGPASSWORD``, never on a command line. libpq has no variable
        for ``sslpassword``: psql asks for the key's passphrase itself. Empty for SQLite.
        """
        if self.engine == "sqlite":
            return {}
        env: dict[str, str] = {}
        for name, value in (
            ("PGHOST", self.host),
            ("PGPORT", None if self.port is None else str(self.port)),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGDATABASE", self.database),
            ("PGSSLMODE", self.params.get("sslmode")),
            ("PGSSLROOTCERT", self.params.get("sslrootcert")),
            ("PGSSLCERT", self.params.get("sslcert")),
            ("PGSSLKEY", self.params.get("sslkey")),
            ("PGSSLCRL", self.params.get("sslcrl")),
            ("PGCONNECT_TIMEOUT", self.params.get("connect_timeout")),
            ("PGAPPNAME", self.params.get("application_name")),
        ):
            if value is not None:
                env[name] = value
        return env

    # -- internals -------------------------------------------------------------------------------

    def _postgres_url(
        self, *, password: str | None, params: Mapping[str, str], mask_params: bool = False
    ) -> str:
        """The URL with ``password`` (already percent-encoded, or the mask) and ``params``."""
        auth = ""
        if self.user is not None or password is not None:
            user = quote(self.user or "", safe="")
            auth = f"{user}@" if password is None else f"{user}:{password}@"
        host = ""
        query: list[tuple[str, str]] = []
        if self.is_socket:
            # A socket directory cannot sit in the authority; SQLAlchemy's asyncpg dialect
            # passes ?host= and ?port= on as asyncpg's host and port.
            query.append(("host", self.host or ""))
            if self.port is not None:
                query.append(("port", str(self.port)))
        elif self.host is not None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            if self.port is not None:
                host += f":{self.port}"
        elif self.port is not None:
            host = f":{self.port}"
        query.extend(params.items())
        # Always a '/' before a query: without it the query would read as part of the host.
        path = "" if self.database is None and not query else "/"
        if self.database is not None:
            path += quote(self.database, safe="")
        tail = ""
        if query:
            tail = "?" + "&".join(
                f"{name}={PASSWORD_MASK}"
                if mask_params and "password" in name
                else _encode_query([(name, value)])
                for name, value in query
            )
        return f"postgresql+asyncpg://{auth}{host}{path}{tail}"

    def _sqlite_url(self) -> str:
        assert self.path is not None
        uri_params = [(k, v) for k, v in self.params.items() if k in SQLITE_URI_PARAMS]
        driver_params = [(k, v) for k, v in self.params.items() if k not in SQLITE_URI_PARAMS]
        if not uri_params:
            location = quote(str(self.path), safe=_PATH_SAFE)
            tail = "?" + _encode_query(driver_params) if driver_params else ""
            return f"sqlite+aiosqlite:///{location}{tail}"
        # SQLite reads its own parameters (mode=ro...) only from a file: URI opened with
        # uri=true; SQLAlchemy decodes the URL once and SQLite decodes the file: URI again.
        uri = "file:" + quote(str(self.path), safe=_PATH_SAFE)
        query = [*uri_params, *driver_params, ("uri", "true")]
        return f"sqlite+aiosqlite:///{quote(uri, safe=_PATH_SAFE)}?{_encode_query(query)}"

    def _check_files(self, mode: str | None) -> None:
        for name in SSL_FILE_PARAMS:
            value = self.params.get(name)
            if value is not None and value != "system" and not _readable_file(value):
                raise InvalidDatabaseUrl(f"the {name} file does not exist or cannot be read")
        if mode in ("verify-ca", "verify-full") and "sslrootcert" not in self.params:
            # asyncpg's fallbacks, checked here so the user hears which parameter to add.
            fallback = os.environ.get("PGSSLROOTCERT") or str(
                Path("~/.postgresql/root.crt").expanduser()
            )
            if not _readable_file(fallback):
                raise InvalidDatabaseUrl(
                    f"sslmode={mode} needs the server's CA certificate: add "
                    "sslrootcert=/path/to/ca.pem (or sslrootcert=system for the system's CAs)"
                )

    def _system_ssl_context(self) -> ssl.SSLContext:
        import ssl

        # What libpq does for sslrootcert=system: the system's CAs, and the host name checked.
        context = ssl.create_default_context()
        try:
            if "sslcrl" in self.params:
                context.load_verify_locations(cafile=self.params["sslcrl"])
                context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
            if "sslcert" in self.params:
                context.load_cert_chain(
                    self.params["sslcert"],
                    keyfile=self.params.get("sslkey"),
                    password=self.params.get("sslpassword"),
                )
        except (ssl.SSLError, OSError):
            raise InvalidDatabaseUrl(
                "the sslcert, sslkey or sslcrl file could not be loaded "
                "(wrong format, or a wrong sslpassword)"
            ) from None
        return context


def parse_database_url(text: str, *, setting: str = "database_url") -> DatabaseUrl:
    """Parse and validate a database URL; any problem is an InvalidDatabaseUrl (exit 2).

    Accepts ``postgres://``, ``postgresql://``, ``postgresql+asyncpg://``, ``sqlite://`` and
    ``sqlite+aiosqlite://``. ``setting`` names the URL in messages.
    """
    try:
        return _parse(text)
    except _Bad as error:
        raise InvalidDatabaseUrl(str(error), setting=setting) from None


def _parse(text: str) -> DatabaseUrl:
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
    params = _parse_query(query)

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


def _is_seconds(value: str) -> bool:
    try:
        seconds = float(value)
    except ValueError:
        return False
    return 0 <= seconds <= 3600  # False for nan too


class _Query(dict[str, str]):
    """Query parameters; ``quiet`` when their names must not be echoed either."""

    quiet = False


def _parse_query(query: str) -> _Query:
    params = _Query()
    # An unencoded '&' in a ?password= value splits it, and the rest reads as a parameter:
    # its "name" may be a piece of the password.
    params.quiet = "password" in query.lower()
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


def _quote_secret(password: str | None) -> str | None:
    return None if password is None else quote(password, safe="")


def _encode_query(items: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='/')}" for name, value in items)


def _readable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)
