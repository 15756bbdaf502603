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
Standard library only; the parsing is in core/url_parse.py, its helpers in core/url_support.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote

from backend.app.errors import InvalidInput

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
            from backend.app.core.url_support import check_files

            check_files(self, mode)
        if self.params.get("sslrootcert") == "system":
            from backend.app.core.url_support import system_ssl_context

            args["ssl"] = system_ssl_context(self)
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


def parse_database_url(text: str, *, setting: str = "database_url") -> DatabaseUrl:
    """Parse and validate a database URL; any problem is an InvalidDatabaseUrl (exit 2).

    Accepts ``postgres://``, ``postgresql://``, ``postgresql+asyncpg://``, ``sqlite://`` and
    ``sqlite+aiosqlite://``. ``setting`` names the URL in messages.
    """
    try:
        from backend.app.core.url_parse import parse

        return parse(text)
    except _Bad as error:
        raise InvalidDatabaseUrl(str(error), setting=setting) from None


def _quote_secret(password: str | None) -> str | None:
    return None if password is None else quote(password, safe="")


def _encode_query(items: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='/')}" for name, value in items)


def _readable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)
