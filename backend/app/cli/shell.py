"""The root `shell` task: Python on the service layer, with top-level ``await``.

The prompt runs on the run's event loop, the one the service context's database belongs to, so
``await users.find_user(ctx, ...)`` works as typed, as under ``python -m asyncio``. Each input
is compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT``; code that awaits is awaited on the loop, the
rest runs as it is. Reading a line blocks the loop, which has nothing else to do meanwhile.

``--command CODE``, or code on standard input when it is not a terminal, runs once and exits
with the code's status, as ``python -c`` does: SystemExit's code, 1 and the traceback for an
uncaught exception.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit

from backend.app.cli._repl import exit_status, interact, print_exception
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli._streams import stdin_is_a_terminal

if TYPE_CHECKING:
    pass

COMMAND_FILE = "<command>"
STDIN_FILE = "<stdin>"
# What the prompt offers, in the order the banner lists it.
SERVICE_MODULES = (
    "users",
    "accounts",
    "keys",
    "revocation",
    "authn",
    "audit",
    "principals",
    "transfer",
    "schema",
    "dbadmin",
    "dbclient",
)
MODEL_NAMES = ("User", "ServiceAccount", "ApiKey", "AuditEvent", "AppMeta")
DOMAIN_NAMES = ("Email", "AccountName", "Role", "StatusFilter", "OwnerKind", "KeyStatus")
EXAMPLE = 'await users.find_user(ctx, email=Email.parse("admin@example.com"))'


@app_task(
    help={
        "command": "run this Python code instead of opening a prompt, and exit with its status "
        "(code on standard input is run the same way when it is not a terminal)",
    },
    no_dry_run="the code may do anything, not only database work inside the run's transaction",
)
async def shell(rt: Runtime, command: str | None = None) -> None:
    """A Python prompt with top-level await, settings, ctx, the models and the services."""
    namespace = build_namespace(rt)
    if command is not None:
        status = await run_source(command, namespace, filename=COMMAND_FILE)
    elif not stdin_is_a_terminal():
        source = sys.stdin.read() if sys.stdin is not None else ""
        status = await run_source(source, namespace, filename=STDIN_FILE)
    else:
        status = await interact(namespace, banner=banner(rt))
    if status != 0:
        sys.stdout.flush()
        raise Exit(code=status)


def build_namespace(rt: Runtime) -> dict[str, Any]:
    """What the code sees: ``settings``, ``ctx``, ``uow``, the models, the domain types and the
    service modules by name (and as ``services.<name>``)."""
    import asyncio
    import builtins
    import importlib

    from backend.app import domain, models, services
    from backend.app.services.uow import uow

    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__doc__": None,
        "__builtins__": builtins,
        "asyncio": asyncio,
        "settings": rt.settings,
        "ctx": rt.services(),
        "uow": uow,
        "alembic_cfg": rt.alembic(),
        "models": models,
        "domain": domain,
        "services": services,
    }
    for name in MODEL_NAMES:
        namespace[name] = getattr(models, name)
    for name in DOMAIN_NAMES:
        namespace[name] = getattr(domain, name)
    for name in SERVICE_MODULES:
        namespace[name] = importlib.import_module(f"backend.app.services.{name}")
    return namespace


def banner(rt: Runtime) -> str:
    from backend.app.core.settings import database_label

    app = rt.app
    version = ".".join(str(part) for part in sys.version_info[:3])
    lines = [
        f"Python {version} · backend shell · profile {app.profile.name}"
        + (" (protected)" if app.protected else "")
        + f" · database {database_label(app.settings)}",
        f"top-level await works: {EXAMPLE}",
        "names: settings, ctx, uow, alembic_cfg, models, domain, services, asyncio, "
        + ", ".join((*MODEL_NAMES, *DOMAIN_NAMES, *SERVICE_MODULES)),
        f"every service call commits for real, audited as {rt.actor}; Ctrl-D leaves",
    ]
    if app.protected:
        lines.append(
            f"PROTECTED: profile {app.profile.name} is protected, and this prompt changes its "
            "database for real"
        )
    return "\n".join(lines)


# -- code given at once -------------------------------------------------------------------------


async def run_source(source: str, namespace: dict[str, Any], *, filename: str) -> int:
    """Run a whole program as ``python -c`` would, awaiting it if it awaits; its exit status."""
    import ast
    import inspect
    import linecache
    import types

    # Tracebacks then show the failing line, as they do for a file.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    try:
        code = compile(
            source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )
    except (SyntaxError, ValueError, OverflowError) as error:  # ValueError: a NUL in the source
        print_exception(error, filename)
        return 1
    try:
        result = types.FunctionType(code, namespace)()
        if inspect.iscoroutine(result):
            await result
    except SystemExit as stop:
        return exit_status(stop)
    except Exception as error:
        print_exception(error, filename)
        return 1
    return 0
