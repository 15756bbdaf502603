"""Alembic environment for both `inv db.*` and the plain `alembic -c alembic.ini ...` CLI.

`inv` hands in its open connection (``config.attributes["connection"]``) inside a transaction it
owns. The plain CLI loads settings exactly as the tasks do (same files, same profile rules) from
the folder of alembic.ini, opens its own connection, and commits when the command succeeds.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import context, util

from backend.app.migrations import support

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from backend.app.core.config import AppConfig

config = context.config


def _cli_app_config() -> AppConfig:
    from backend.app.core.config import load_from_files, project_root
    from backend.app.core.db import require_url
    from backend.app.errors import AppError

    ini = config.config_file_name
    root = Path(ini).resolve().parent if ini else project_root()
    try:
        app = load_from_files(root)
        require_url(app.settings)
    except AppError as error:
        raise util.CommandError(str(error)) from None
    return app


def _cli_command() -> str:
    cmd: tuple[object, ...] = getattr(config.cmd_opts, "cmd", None) or ()
    return str(getattr(cmd[0], "__name__", "")) if cmd else ""


def _cli_wants_stamp() -> bool:
    return _cli_command() in {"upgrade", "stamp"}


def _guard_cli_downgrade(connection: Connection) -> None:
    """`alembic downgrade` keeps the promise `db.downgrade` makes about protected databases."""
    import os

    from backend.app.services.guards import require_unprotected

    override = os.environ.get("APP_ALLOW_DESTRUCTIVE", "").strip().lower()
    require_unprotected(
        support.read_stamp(connection),
        allow_destructive=override in {"1", "true", "yes", "on"},
        action="alembic downgrade",
    )


async def _run_cli_online(app: AppConfig) -> None:
    from backend.app.core.db import create_engine, translate_errors, writer
    from backend.app.errors import AppError

    engine = None
    try:
        # Creating the engine can fail too (a SQLite folder that cannot be created).
        engine = writer(create_engine(app.settings, create=True, foreign_keys=False))
        with translate_errors(app.settings):
            async with engine.connect() as conn, conn.begin():
                if _cli_command() == "downgrade":
                    await conn.run_sync(_guard_cli_downgrade)
                await conn.run_sync(support.run_online, app, stamp=_cli_wants_stamp())
    except AppError as error:
        raise util.CommandError(str(error)) from None
    finally:
        if engine is not None:
            await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    support.run_online(
        connection,
        config.attributes.get("app_config"),
        stamp=bool(config.attributes.get("stamp_profile")),
    )
elif context.is_offline_mode():
    from backend.app.core.db import require_url

    app_config: AppConfig = config.attributes.get("app_config") or _cli_app_config()
    support.run_offline(require_url(app_config.settings))
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_cli_online(_cli_app_config()))
