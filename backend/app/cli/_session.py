"""One program run: the event loop, the databases and the dry-run switch every task shares.

invoke runs a chain (``inv db.reset users.seed-admin``) through an Executor; ``AppExecutor``
(named in invoke.yaml as ``tasks.executor_class``, and used by ``backendctl``) opens one
:class:`RunScope` around the whole chain. Its one ``asyncio.Runner`` keeps one event loop for
every task, so a database engine lives as long as the run; under a dry run each database gets
one connection and one transaction for the whole chain, rolled back when the chain ends. A task
run without that executor gets a scope of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from invoke.executor import Executor

if TYPE_CHECKING:
    from backend.app.core.database import Database
    from backend.app.core.settings import Settings

T = TypeVar("T")


class RunScope:
    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.runner = asyncio.Runner()
        self.warned: set[str] = set()
        self._databases: dict[str, Database] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def database(self, settings: Settings) -> Database:
        """One Database per URL for the whole run (a chain may switch profiles)."""
        from backend.app.core.database import Database, require_url

        url = require_url(settings)
        if url not in self._databases:
            self._databases[url] = Database(settings, dry_run=self.dry_run)
        return self._databases[url]

    def warn_once(self, text: str) -> None:
        if text not in self.warned:
            self.warned.add(text)
            print(f"warning: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Roll back a dry run, dispose every engine, close the loop."""
        try:
            for database in self._databases.values():
                with contextlib.suppress(Exception):
                    self.runner.run(database.finish())
        finally:
            self._databases.clear()
            self.runner.close()


_CURRENT: contextvars.ContextVar[RunScope | None] = contextvars.ContextVar("run", default=None)


def current_scope() -> RunScope | None:
    return _CURRENT.get()


@contextlib.contextmanager
def run_scope(*, dry_run: bool) -> Iterator[RunScope]:
    scope = RunScope(dry_run=dry_run)
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
        scope.close()


def dry_run_requested(config: Any) -> bool:
    """invoke's ``--dry``/``-R`` (``run.dry``), or APP_DRY_RUN=1 for a whole chain."""
    from backend.app.core.switches import Switches

    try:
        run = config.get("run") if hasattr(config, "get") else None
        dry = bool(run.get("dry")) if run is not None else False
        return dry or Switches.from_environ().dry_run
    except Exception as error:
        from backend.app.cli._boundary import failure

        raise failure(error) from None


class AppExecutor(Executor):
    """invoke's Executor, with one RunScope around the whole chain."""

    def execute(self, *tasks: Any) -> dict[Any, Any]:
        with run_scope(dry_run=dry_run_requested(self.config)):
            results = super().execute(*tasks)
        names = [getattr(t, "name", None) or (t[0] if isinstance(t, tuple) else t) for t in tasks]
        if names and names[-1] == "profile":
            print(
                "warning: `profile` selects a profile for the tasks after it, but no task "
                "followed it: nothing was run",
                file=sys.stderr,
                flush=True,
            )
        return results
