"""ids are never reused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:00:00

Without AUTOINCREMENT, SQLite gives a new row the id of the last row deleted: delete user 2,
create another, and the audit events about "user 2" now describe two different people.
PostgreSQL's sequences never go back, so only SQLite's tables are rebuilt (batch mode copies
each table into a new one declared AUTOINCREMENT, which starts above every id used so far).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "service_accounts", "api_keys", "audit_events")


def _rebuild(autoincrement: bool) -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
