"""The one bridge between invoke and the backend.

A task body is ``async def body(rt: Runtime, **flags)``. :func:`app_task` makes an invoke task
of it that reads the ``APP_*`` switches, builds the run's settings from invoke's config, runs the
body on the run's event loop (see ``_session``), and turns every error into one ``error: ...``
line and its exit code (see ``_boundary``). Only the standard library and invoke are imported
at module level, so ``inv --list`` stays as fast as bare invoke.
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from backend.app.cli._boundary import failure
from backend.app.cli._output import Output
from backend.app.cli._session import RunScope, current_scope, dry_run_requested
from backend.app.cli._streams import configure_logging, configure_streams, invoke_debug
from backend.app.errors import AppError, DryRunUnsupported

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from backend.app.core.config import AppConfig
    from backend.app.core.security import PasswordHasher
    from backend.app.core.settings import Settings
    from backend.app.core.switches import Switches
    from backend.app.migrations.runner import MigrationOptions
    from backend.app.services.context import ServiceContext

TaskBody = Callable[..., Awaitable[None]]

JSON_HELP = "print the result as one JSON value on one line (or set APP_OUTPUT=json)"
DRY_RUN_NOTE = "dry run: nothing was changed"


class Runtime:
    """What a task body gets: settings, output, switches and the run's database."""

    def __init__(self, ctx: Context, out: Output, switches: Switches, scope: RunScope) -> None:
        self.ctx = ctx
        self.out = out
        self.switches = switches
        self.scope = scope
        self._app: AppConfig | None = None
        self._services: ServiceContext | None = None

    @property
    def app(self) -> AppConfig:
        if self._app is None:
            from backend.app.cli._invoke_config import app_config

            self._app = app_config(self.ctx.config)
        return self._app

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def dry_run(self) -> bool:
        return self.scope.dry_run

    @property
    def actor(self) -> str:
        from backend.app.core.switches import default_actor

        return self.switches.actor or default_actor()

    def confirmed(self, yes: bool) -> bool:
        return yes or self.switches.assume_yes

    @functools.cached_property
    def password_hasher(self) -> PasswordHasher:
        """The configured argon2id hasher; needs the settings but not the database stack."""
        from backend.app.core.security import PasswordHasher

        return PasswordHasher(self.settings.passwords)

    def services(self) -> ServiceContext:
        """The context use cases run in, with the run's one Database for these settings."""
        if self._services is None:
            from backend.app.services.context import ServiceContext

            database = self.scope.database(self.settings)
            self._services = ServiceContext(self.settings, database, self.actor)
        return self._services

    def migration_options(self) -> MigrationOptions:
        from backend.app.migrations.runner import MigrationOptions

        return MigrationOptions(
            profile=self.app.profile.name,
            protected=self.app.protected,
            allow_destructive=self.switches.allow_destructive,
        )

    def alembic(self) -> AlembicConfig:
        from backend.app.migrations.runner import stderr_config

        return stderr_config(self.app.root)

    def announce(self) -> None:
        """Name the profile and the database on stderr in every output mode, so nobody
        migrates prod thinking it is dev."""
        from backend.app.core.settings import database_label

        app = self.app
        flags = " (protected)" if app.protected else ""
        dry = " · dry run" if self.dry_run else ""
        self.out.banner(
            f"profile {app.profile.name}{flags} · database {database_label(app.settings)}{dry}"
        )

    def warn_about_environment(self) -> None:
        """Mistyped APP_* variables, and a protected profile's unsafe settings (once a run)."""
        from backend.app.core.provenance import production_problems, unknown_environment

        for warning in unknown_environment():
            self.scope.warn_once(warning)
        for problem in production_problems(self.app):
            self.scope.warn_once(f"profile {self.app.profile.name} is protected but {problem}")

    def secrets(self) -> list[str]:
        return secret_values(self._app.settings) if self._app is not None else []

    def where(self) -> str:
        return self._services.database.where if self._services is not None else "the database"


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
    if settings.database_url:
        from backend.app.core.urls import parse_database_url

        try:
            password = parse_database_url(settings.database_url).password
        except AppError:
            password = None
        if password:
            found.append(password)
    return found


# -- the task decorator ----------------------------------------------------------------------------


class AppTask(Task[Any]):
    """invoke's Task, copied shallowly: invoke deep-copies every task of ``tasks.py``'s
    namespace as it loads it (help texts, argument lists and all), though nothing changes a
    task's parts once it is made (``times_called``, the one counter, is the copy's own)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> AppTask:
        return copy.copy(self)


def app_task(
    *,
    help: dict[str, str] | None = None,
    name: str | None = None,
    iterable: Iterable[str] | None = None,
    database: bool = True,
    no_dry_run: str | None = None,
    optional_positional: str | None = None,
) -> Callable[[TaskBody], Task[Any]]:
    """Make an invoke task of ``async def body(rt, **flags)``; adds ``--json`` to it.

    ``database=True`` announces the profile and database on stderr before the body runs.
    ``no_dry_run`` says why the task cannot honour a dry run: it then refuses one (exit 2)
    instead of running for real. ``optional_positional`` names a flag whose value may also be
    given first, bare (``keys.revoke 7`` for ``keys.revoke --ids 7``; see ``_parsing``).
    """

    def decorate(body: TaskBody) -> Task[Any]:
        params = list(inspect.signature(body).parameters.values())
        context = inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        as_json = inspect.Parameter("json", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)

        def runner(c: Context, *args: Any, **kwargs: Any) -> None:
            json_flag = bool(kwargs.pop("json", False))
            run_task(
                c,
                body,
                args,
                kwargs,
                as_json=json_flag,
                database=database,
                no_dry_run=no_dry_run,
            )

        functools.update_wrapper(runner, body)
        runner.__signature__ = inspect.Signature([context, *params[1:], as_json])  # type: ignore[attr-defined]
        flags_help = {**(help or {}), "json": JSON_HELP}
        made: Task[Any] = task(
            name=name,
            help=flags_help,
            iterable=list(iterable or ()),
            auto_shortflags=False,
            klass=AppTask,
        )(runner)
        made.optional_positional = optional_positional  # type: ignore[attr-defined]
        return made

    return decorate


def run_task(
    c: Context,
    body: TaskBody,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    as_json: bool,
    database: bool,
    no_dry_run: str | None,
) -> None:
    from backend.app.core import collector
    from backend.app.core.switches import Switches

    # No garbage collection while the task loads what it needs: resumed when its database stack
    # is loaded (its first Database), or at the latest when the task ends (see core.collector).
    collector.pause()
    debug = invoke_debug()
    configure_logging()
    configure_streams()
    try:
        switches = Switches.from_environ()
    except AppError as error:
        raise failure(error) from None
    debug = debug or switches.debug
    scope = current_scope()
    own_scope = scope is None
    if scope is None:
        scope = RunScope(dry_run=dry_run_requested(c.config))
    out = Output(as_json=as_json or switches.output_json, dry_run=scope.dry_run)
    rt = Runtime(c, out, switches, scope)
    try:
        if scope.dry_run and no_dry_run:
            raise DryRunUnsupported(f"this task cannot be dry-run ({no_dry_run}); nothing was run")
        scope.run(_main(rt, body, args, kwargs, announce=database))
        # Buffered output meets a reader that left (`| head`) here, not at the interpreter's exit
        # (which would print "Exception ignored" and exit 120).
        sys.stdout.flush()
    except (Exception, KeyboardInterrupt) as error:
        if isinstance(error, Exit):
            raise
        if debug and not isinstance(error, AppError | KeyboardInterrupt):
            raise  # out of the program, Python prints the traceback and exits 1
        if debug:
            traceback.print_exc()
        raise failure(error, secrets=rt.secrets(), where=rt.where()) from None
    finally:
        collector.resume()
        if own_scope:
            scope.close()
        if scope.dry_run and database and not no_dry_run:
            print(DRY_RUN_NOTE, file=sys.stderr, flush=True)


async def _main(
    rt: Runtime, body: TaskBody, args: tuple[Any, ...], kwargs: dict[str, Any], *, announce: bool
) -> None:
    if announce:
        rt.announce()
    rt.warn_about_environment()
    await body(rt, *args, **kwargs)
