"""Imports in batches: a few statements per few hundred lines, never one per line, with the
audit trail still in the file's order, one event per change. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event, text

from backend.app.services import transfer
from backend.app.services.context import ServiceContext
from tests.fixtures import users_service
from tests.fixtures.users import reused_db

db = reused_db
ctx = users_service.ctx  # the fixture: a context on `db`

LINES = 1_234  # three batches, the last one partial


def user_lines(count: int, *, renamed: set[int] | None = None) -> list[str]:
    renamed = renamed or set()
    return [
        json.dumps({"email": f"u{n}@example.com", "name": "New" if n in renamed else f"U {n}"})
        for n in range(count)
    ]


async def imported(ctx: ServiceContext, lines: list[str]) -> tuple[transfer.Imported, int]:
    """The import's result and how many statements it ran."""
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    engine = ctx.database.engine().sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = await transfer.import_users(ctx, transfer.parse_users(lines))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, statements


async def audit_trail(ctx: ServiceContext) -> list[tuple[str, str]]:
    async with ctx.database.connection(write=False) as conn:
        rows = await conn.execute(text("SELECT action, target FROM audit_events ORDER BY id"))
        return [(row.action, row.target) for row in rows]


async def test_an_import_runs_a_few_statements_a_batch_and_keeps_the_lines_order(
    ctx: ServiceContext,
) -> None:
    created, statements = await imported(ctx, user_lines(LINES))
    assert created.count("create") == LINES
    assert statements <= 3 * 4 + 2  # per batch: look up, insert, load, events; begin, commit
    renamed = {5, 600, 1_233}
    lines = user_lines(LINES + 1, renamed=renamed)
    lines.insert(3, lines.pop())  # a new user among the existing ones
    changed, statements = await imported(ctx, lines)
    assert (changed.count("create"), changed.count("update")) == (1, len(renamed))
    assert changed.count("unchanged") == LINES - len(renamed)
    assert statements <= 3 * 4 + 2 + len(renamed)  # an update is one statement each
    trail = await audit_trail(ctx)
    assert trail[:LINES] == [("user.create", f"u{n}@example.com") for n in range(LINES)]
    assert trail[LINES:] == [
        ("user.create", f"u{LINES}@example.com"),  # line 4, before u5's line 6
        ("user.update", "u5@example.com"),
        ("user.update", "u600@example.com"),
        ("user.update", "u1233@example.com"),
    ]
