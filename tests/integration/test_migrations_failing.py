"""A failing migration rolls back whole, on SQLite and PostgreSQL; two upgrades at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend.app.errors import MigrationFailed, SchemaNotReady
from backend.app.migrations.runner import MigrationResult
from backend.app.services import schema
from backend.app.services.context import ServiceContext
from tests.alembic_project import ExtraMigrations
from tests.fixtures.migrations import (
    ONLY_SQLITE,
    OUR_TABLES,
    app_config,
    revisions,
    upgrade,
)
from tests.fixtures.services import on_app, options_of, with_app
from tests.support import Db

if TYPE_CHECKING:
    from alembic.config import Config


# -- a failing migration ---------------------------------------------------------------------------


def test_a_migration_that_fails_halfway_leaves_the_database_at_the_previous_revision(
    db: Db, extra: ExtraMigrations
) -> None:
    extra.add(
        "half_done",
        """
        op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
        op.add_column("service_accounts", sa.Column("half", sa.Integer(), nullable=True))
        op.execute("INSERT INTO half_done (id) VALUES (1)")
        raise RuntimeError("the migration failed halfway")
        """,
    )
    app = app_config(db, extra.root)
    head_before = revisions(app)
    before = db.dump()

    (head,) = head_before
    with pytest.raises(MigrationFailed, match=rf"rolled back.*still at {head}.*failed halfway"):
        upgrade(app)
    assert revisions(app) == head_before
    assert "half_done" not in db.tables()
    assert "half" not in db.columns("service_accounts")
    assert db.dump() == before


def test_a_migration_naming_a_missing_table_fails_as_a_migration_not_as_an_old_schema(
    db: Db, extra: ExtraMigrations
) -> None:
    head = extra.chain[-1]
    extra.add("typo", 'op.execute("UPDATE userz SET name = NULL")')
    app = app_config(db, extra.root)
    with pytest.raises(MigrationFailed, match=f"rolled back; the database is still at {head} "):
        upgrade(app)
    assert revisions(app) == (head,)


@ONLY_SQLITE
def test_a_later_failing_migration_rolls_back_the_earlier_ones_of_the_same_run(
    empty_db: Db, extra: ExtraMigrations
) -> None:
    extra.add("boom", 'raise RuntimeError("boom")')
    app = app_config(empty_db, extra.root)
    with pytest.raises(MigrationFailed, match=r"rolled back.*boom"):
        upgrade(app)
    assert empty_db.tables() & (OUR_TABLES | {"alembic_version"}) == set()


@ONLY_SQLITE
def test_check_reports_a_database_behind_head_as_not_ready(db: Db, extra: ExtraMigrations) -> None:
    extra.add("noop", "pass")
    with pytest.raises(SchemaNotReady, match=r"the migrations end at") as caught:
        on_app(app_config(db, extra.root), schema.check)
    assert caught.value.hint == "upgrade_schema"


# -- two upgrades at once -------------------------------------------------------------------------


def test_two_upgrades_at_once_run_one_after_the_other(empty_db: Db, tmp_path: Path) -> None:
    """PostgreSQL: the advisory lock; SQLite: BEGIN IMMEDIATE and the busy timeout."""
    app = app_config(empty_db, tmp_path)

    async def one(ctx: ServiceContext, cfg: Config) -> MigrationResult:
        return await schema.upgrade(ctx, cfg, options_of(app))

    async def both() -> list[MigrationResult]:
        return list(await asyncio.gather(with_app(app, one), with_app(app, one)))

    results = asyncio.run(both())
    assert sorted(result.changed for result in results) == [False, True]
    assert all(result.after == result.heads for result in results)
    assert dict(empty_db.rows("SELECT key, value FROM app_meta"))["profile"] == "dev"
