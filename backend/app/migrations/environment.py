"""What alembic's env.py runs: the migrations handed in by the runner, or the plain ``alembic``
CLI routed through the same runner (same settings loader, same steps, its own transaction)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.migrations.runner import RUN_KEY, MigrationOptions, MigrationRun, migrate

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection


def run_here(run: MigrationRun) -> None:
    """Run the migrations alembic selected, on the connection the runner handed in."""
    from alembic import context

    from backend.app.migrations.alembic_glue import configure_options

    if run.connection is None:
        assert run.url is not None
        dialect = run.url.split(":", 1)[0].split("+", 1)[0]
        context.configure(
            url=run.url,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **configure_options(dialect),
        )
    else:
        context.configure(
            connection=run.connection,
            on_version_apply=run.on_version_apply,
            **configure_options(run.connection.dialect.name),
        )
    with context.begin_transaction():
        context.run_migrations()


def run_alembic_cli(cfg: Config) -> None:
    """The plain ``alembic`` CLI: same settings loader, same runner, its own transaction."""
    import asyncio

    from alembic import context, util

    from backend.app.core.config import load_from_files, project_root
    from backend.app.core.database import Database
    from backend.app.core.switches import Switches
    from backend.app.errors import AppError

    async def main() -> None:
        ini = cfg.config_file_name
        app = load_from_files(Path(ini).resolve().parent if ini else project_root())
        database = Database(app.settings)
        opts = MigrationOptions(
            profile=app.profile.name,
            protected=app.protected,
            allow_destructive=Switches.from_environ().allow_destructive,
        )
        if context.is_offline_mode():
            run_here(MigrationRun(connection=None, url=app.settings.database_url))
            return
        # Only a command that moves to a revision may create a missing SQLite file
        # (`alembic current` on a fresh clone must not leave an empty database behind).
        create = _moves_to_a_revision(context)
        try:
            async with database.migration_connection(create=create) as conn, conn.begin():
                await conn.run_sync(lambda sync: _cli_command(sync, cfg, opts))
        finally:
            await database.finish()

    if cfg.config_file_name is not None:
        from logging.config import fileConfig

        fileConfig(cfg.config_file_name, disable_existing_loggers=False)
    try:
        asyncio.run(main())
    except AppError as error:
        raise util.CommandError(str(error)) from None


def _moves_to_a_revision(context: Any) -> bool:
    try:
        return context.get_revision_argument() is not None
    except KeyError:  # `alembic current` and `check` name no destination at all
        return False


def _cli_command(conn: Connection, cfg: Config, opts: MigrationOptions) -> None:
    # Alembic is already inside its command and about to run env.py's migrations: run them
    # here, between the runner's own steps.
    from alembic import context

    from backend.app.migrations.alembic_glue import configure_options

    def work() -> None:
        context.configure(
            connection=conn,
            on_version_apply=cfg.attributes[RUN_KEY].on_version_apply,
            **configure_options(conn.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()

    migrate(conn, cfg, opts, work, stamps=None)
