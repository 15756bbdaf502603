"""Alembic environment for both `inv db.*` and the plain `alembic -c alembic.ini ...` CLI.

`inv` hands in its open connection (``config.attributes["connection"]``) inside a transaction it
owns. The plain CLI loads settings exactly as the tasks do (same files, same profile rules) from
the folder of alembic.ini, opens its own connection, and commits when the command succeeds.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from pathlib import Path

from alembic import context, util

from backend.app.migrations import support

config = context.config


def _cli_app_config():  # type: ignore[no-untyped-def]
    from backend.app.core.config import load_from_files, project_root
    from backend.app.errors import AppError

    root = (
        Path(config.config_file_name).resolve().parent
        if config.config_file_name
        else project_root()
    )
    try:
        return load_from_files(root)
    except AppError as error:
        raise util.CommandError(str(error)) from None


def _cli_wants_stamp() -> bool:
    cmd = getattr(config.cmd_opts, "cmd", None)
    return bool(cmd) and cmd[0].__name__ in {"upgrade", "stamp"}


async def _run_cli_online(app) -> None:  # type: ignore[no-untyped-def]
    from backend.app.core.db import create_engine, translate_errors, writer
    from backend.app.errors import AppError

    engine = writer(create_engine(app.settings, create=True, foreign_keys=False))
    try:
        with translate_errors(app.settings):
            async with engine.connect() as conn, conn.begin():
                await conn.run_sync(support.run_online, app, stamp=_cli_wants_stamp())
    except AppError as error:
        raise util.CommandError(str(error)) from None
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    support.run_online(
        connection,
        config.attributes.get("app_config"),
        stamp=bool(config.attributes.get("stamp_profile")),
    )
elif context.is_offline_mode():
    app_config = config.attributes.get("app_config") or _cli_app_config()
    from backend.app.core.db import require_url

    support.run_offline(require_url(app_config.settings))
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_cli_online(_cli_app_config()))
