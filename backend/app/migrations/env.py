"""Alembic's environment, for the `db` tasks and for the plain `alembic -c alembic.ini` CLI.

A thin shim: the tasks hand in their connection through the migration runner; the plain
CLI is routed to the same runner, which loads the settings exactly as the tasks do.
"""

from __future__ import annotations

from alembic import context

from backend.app.migrations import environment, runner

run = context.config.attributes.get(runner.RUN_KEY)
if run is not None:
    environment.run_here(run)
else:
    environment.run_alembic_cli(context.config)
