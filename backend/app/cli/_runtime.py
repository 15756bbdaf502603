"""The one bridge between invoke and the backend.

A task body is ``async def body(rt: Runtime, **flags)``. :func:`app_task` turns it into an invoke
task that: reads the CLI switches, builds the run's settings from invoke's config, runs the body
under ``asyncio.run`` (disposing the engine before the loop closes), and turns every error into
one ``error: ...`` line and its exit code. Only stdlib and invoke are imported at module level so
``inv --list`` stays as fast as bare invoke.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from backend.app.cli._output import Output
from backend.app.errors import AppError, InvalidInput, quote

if TYPE_CHECKING:
    from backend.app.core.config import AppConfig
    from backend.app.core.security import PasswordHasher
    from backend.app.core.settings import Settings
    from backend.app.services.context import ServiceContext

TaskBody = Callable[..., Awaitable[None]]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
JSON_HELP = "print the result as one JSON value on one line (or set APP_OUTPUT=json)"
# Loggers that print bound parameters (password hashes, key digests) at DEBUG: never below INFO.
QUIET_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy", "pydantic_settings", "passlib")


def env_flag(name: str, environ: Mapping[str, str]) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f"{name} must be 1 or 0 (true/false, yes/no, on/off)")


@dataclass(frozen=True)
class Switches:
    """Per-invocation switches: read from the process environment only, never from .env."""

    output_json: bool
    assume_yes: bool
    allow_destructive: bool
    actor: str | None
    debug: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Switches:
        env = os.environ if environ is None else environ
        output = env.get("APP_OUTPUT", "").strip().lower()
        if output not in ("", "human", "json"):
            raise InvalidInput("APP_OUTPUT must be 'human' or 'json'")
        actor = env.get("APP_ACTOR", "").strip() or None
        if actor is not None and (len(actor) > 320 or not actor.isprintable()):
            raise InvalidInput("APP_ACTOR must be at most 320 printable characters")
        return cls(
            output_json=output == "json",
            assume_yes=env_flag("APP_ASSUME_YES", env),
            allow_destructive=env_flag("APP_ALLOW_DESTRUCTIVE", env),
            actor=actor,
            debug=env_flag("APP_DEBUG", env),
        )


def default_actor() -> str:
    """``cli:<os user>@<host>``, even in a container whose uid has no passwd entry."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}@{socket.gethostname() or 'localhost'}"


class Runtime:
    """What a task body gets: settings, output, switches and the run's database."""

    def __init__(self, ctx: Context, out: Output, switches: Switches) -> None:
        self.ctx = ctx
        self.out = out
        self.switches = switches
        self._app: AppConfig | None = None
        self._services: ServiceContext | None = None

    @property
    def app(self) -> AppConfig:
        if self._app is None:
            self._app = app_config_from_invoke(self.ctx.config)
        return self._app

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def actor(self) -> str:
        return self.switches.actor or default_actor()

    def confirmed(self, yes: bool) -> bool:
        return yes or self.switches.assume_yes

    @functools.cached_property
    def password_hasher(self) -> PasswordHasher:
        """The configured argon2id hasher; needs the settings but not the database stack."""
        from backend.app.core.security import PasswordHasher

        return PasswordHasher(self.settings.passwords)

    def services(self) -> ServiceContext:
        """The context use cases run in: one per task run, with the run's one engine."""
        if self._services is None:
            from backend.app.core.db import Database
            from backend.app.services.context import ServiceContext

            self._services = ServiceContext(self.settings, Database(self.settings), self.actor)
        return self._services

    def announce(self) -> None:
        """Name the profile and the database on stderr, so nobody migrates prod thinking dev."""
        from backend.app.core.settings import database_label

        app = self.app
        flags = " (protected)" if app.protected else ""
        self.out.note(
            f"profile {app.profile.name}{flags} · database {database_label(app.settings)}"
        )

    async def close(self) -> None:
        """Dispose the engine while the task's event loop still runs (asyncpg needs that)."""
        if self._services is not None:
            await self._services.db.dispose()


def app_config_from_invoke(config: Any) -> AppConfig:
    """Build the run's AppConfig from invoke's merged config (``app:``) and its project location."""
    from backend.app.core.config import load_app_config, project_root

    app = app_section(config)
    selected = app.pop("selected_profile", None)
    selected_via = app.pop("selected_via", "task")
    prefix = getattr(config, "_project_prefix", None)
    found = [
        getattr(config, attr, None)
        for attr in ("_system_path", "_user_path", "_project_path", "_runtime_path")
    ]
    return load_app_config(
        app=app,
        root=project_root(prefix),
        selected=selected,
        selected_via=selected_via,
        # invoke records a missing *.py config file as found (it loads it as {}): check.
        config_files=tuple(Path(p) for p in found if p and Path(p).is_file()),
    )


def app_section(config: Any) -> dict[str, Any]:
    """The shipped ``app:`` defaults with the invoke config's ``app:`` merged over them."""
    from backend.app.core.profiles import merge_dicts, package_defaults, plain

    merged = package_defaults()
    if "app" not in config:
        return merged
    raw = plain(config["app"])
    if not isinstance(raw, dict):
        raise InvalidInput("the invoke config's `app:` must be a mapping (see invoke.yaml)")
    return merge_dicts(merged, raw)


# -- logging ---------------------------------------------------------------------------------------


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (tests swap it), never to a stale stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _MigrationProgress(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().startswith("Running ")


def configure_logging() -> None:
    """Show alembic's progress lines on stderr; keep parameter-logging drivers quiet."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    alembic = logging.getLogger("alembic")
    if not any(isinstance(h, _StderrHandler) for h in alembic.handlers):
        handler = _StderrHandler()
        handler.addFilter(_MigrationProgress())
        handler.setFormatter(logging.Formatter("%(message)s"))
        alembic.addHandler(handler)
    alembic.setLevel(logging.INFO)
    alembic.propagate = False


# -- the task decorator ----------------------------------------------------------------------------


def app_task(
    *,
    help: dict[str, str] | None = None,
    name: str | None = None,
    iterable: Iterable[str] | None = None,
    database: bool = True,
) -> Callable[[TaskBody], Task[Any]]:
    """Make an invoke task of ``async def body(rt, **flags)``; adds ``--json`` to it.

    ``database=True`` announces the profile and database on stderr before the body runs.
    """

    def decorate(body: TaskBody) -> Task[Any]:
        params = list(inspect.signature(body).parameters.values())
        context = inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        as_json = inspect.Parameter("json", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)

        def runner(c: Context, *args: Any, **kwargs: Any) -> None:
            json_flag = bool(kwargs.pop("json", False))
            run_body(c, body, args, kwargs, as_json=json_flag, announce=database)

        functools.update_wrapper(runner, body)
        runner.__signature__ = inspect.Signature([context, *params[1:], as_json])  # type: ignore[attr-defined]
        flags_help = {**(help or {}), "json": JSON_HELP}
        made: Task[Any] = task(
            name=name, help=flags_help, iterable=list(iterable or ()), auto_shortflags=False
        )(runner)
        return made

    return decorate


def run_body(
    c: Context,
    body: TaskBody,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    as_json: bool,
    announce: bool,
) -> None:
    debug = invoke_debug()
    try:
        switches = Switches.from_environ()
    except AppError as error:
        raise Exit(f"error: {error.message}", code=error.exit_code) from None
    debug = debug or switches.debug
    configure_logging()
    rt = Runtime(c, Output(as_json=as_json or switches.output_json), switches)
    try:
        import asyncio

        asyncio.run(_main(rt, body, args, kwargs, announce=announce))
    except AppError as error:
        if debug:
            traceback.print_exc()
        raise Exit(f"error: {safe_message(error.message, rt)}", code=error.exit_code) from None
    except KeyboardInterrupt:
        raise Exit(
            "error: interrupted; the current transaction was rolled back", code=130
        ) from None
    except Exit:
        raise
    except Exception as error:
        if debug:
            raise
        mapped = _classify(error, rt)
        if mapped is not None:
            raise Exit(f"error: {mapped.message}", code=mapped.exit_code) from None
        detail = safe_message(str(error).strip().splitlines()[0] if str(error).strip() else "", rt)
        raise Exit(
            f"error: unexpected failure ({type(error).__name__}){': ' + detail if detail else ''}"
            " (set APP_DEBUG=1 for a traceback)",
            code=1,
        ) from None


def invoke_debug() -> bool:
    """Whether invoke runs with `-d` (or INVOKE_DEBUG): it sets up the root logger its own way.

    Only that set-up counts, not any DEBUG root logger (a test's log capture, an embedding app).
    """
    from invoke.util import LOG_FORMAT

    root = logging.getLogger()
    return root.isEnabledFor(logging.DEBUG) and any(
        getattr(handler.formatter, "_fmt", None) == LOG_FORMAT for handler in root.handlers
    )


async def _main(
    rt: Runtime, body: TaskBody, args: tuple[Any, ...], kwargs: dict[str, Any], *, announce: bool
) -> None:
    try:
        if announce:
            rt.announce()
        await body(rt, *args, **kwargs)
    finally:
        await rt.close()


def _classify(error: Exception, rt: Runtime) -> AppError | None:
    """A database error that escaped a service still gets its proper exit code."""
    if "sqlalchemy" not in sys.modules:
        return None
    from backend.app.core.db import classify_error
    from backend.app.core.redaction import mask_url

    try:
        where = mask_url(rt.settings.database_url or "")
    except AppError:
        where = "the database"
    return classify_error(error, where)


def safe_message(message: str, rt: Runtime) -> str:
    """Mask URL passwords and any configured secret value in a message; keep it to one line."""
    from backend.app.core.redaction import redact_text

    secrets: list[str] = []
    if rt._app is not None:
        secrets = secret_values(rt._app.settings)
    text = redact_text(message, secrets).replace("\n", " ")
    return text if len(text) <= 500 else text[:497] + "..."


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, to scrub from messages."""
    from pydantic import SecretStr

    found: list[str] = []

    def walk(model: Any) -> None:
        for field_name in type(model).model_fields:
            value = getattr(model, field_name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif hasattr(type(value), "model_fields"):
                walk(value)

    walk(settings)
    return found


# -- the root `profile` task -----------------------------------------------------------------------


@task(
    help={"name": "the profile the following tasks use (e.g. dev, test, prod)"},
    auto_shortflags=False,
)
def profile(c: Context, name: str) -> None:
    """Select the profile for the tasks after this one (`inv profile prod db.upgrade`)."""
    from backend.app.core.profiles import known_profiles

    try:
        known = known_profiles(app_section(c.config))
    except AppError as error:
        raise Exit(f"error: {error.message}", code=error.exit_code) from None
    if name not in known:
        raise Exit(
            f"error: unknown profile {quote(name)}; known profiles: {', '.join(known) or '(none)'}",
            code=InvalidInput.exit_code,
        )
    if "app" in c.config:  # a mapping: app_section() checked it
        c.config.app.selected_profile = name
        c.config.app.selected_via = "task"
    else:
        c.config["app"] = {"selected_profile": name, "selected_via": "task"}  # type: ignore[assignment]
