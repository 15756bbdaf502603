"""Migrations on SQLite and PostgreSQL: up, down to base, up again; data through a batch migration;
a failing migration rolls back whole; the profile stamp."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from backend.app.errors import MigrationFailed, NotFound
from backend.app.services import schema
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow
from tests.alembic_project import ExtraMigrations
from tests.fixtures.migrations import (
    ONLY_POSTGRESQL,
    ONLY_SQLITE,
    OUR_TABLES,
    app_config,
    downgrade,
    revisions,
    upgrade,
)
from tests.fixtures.services import on_app
from tests.support import Db

if TYPE_CHECKING:
    pass


# -- a project with test-only migrations on top of the real ones -----------------------------------


# The classic trap: a forced copy of a parent table (how SQLite alters most things).
BATCH_COPY_USERS = """
with op.batch_alter_table("users", recreate="always") as batch:
    batch.add_column(sa.Column("nickname", sa.String(length=50), nullable=True))
"""
UNDO_BATCH_COPY_USERS = """
with op.batch_alter_table("users", recreate="always") as batch:
    batch.drop_column("nickname")
"""
# What autogenerate writes with render_as_batch: a copy on SQLite (it cannot ALTER a column's
# type), plain ALTER TABLE on PostgreSQL. The same file runs on both engines.
PORTABLE_BATCH_USERS = """
with op.batch_alter_table("users") as batch:
    batch.add_column(sa.Column("nickname", sa.String(length=50), nullable=True))
    batch.alter_column("name", existing_type=sa.String(length=200), type_=sa.String(length=300))
"""
UNDO_PORTABLE_BATCH_USERS = """
with op.batch_alter_table("users") as batch:
    batch.alter_column("name", existing_type=sa.String(length=300), type_=sa.String(length=200))
    batch.drop_column("nickname")
"""


def insert_user_with_key(db: Db, email: str = "owner@example.com") -> None:
    db.rows(
        "INSERT INTO users (email, password_hash, created_at, updated_at, password_changed_at) "
        "VALUES (:email, 'not-a-real-hash', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)",
        email=email,
    )
    db.rows(
        "INSERT INTO api_keys (user_id, digest, display_prefix, scopes, created_at) "
        "SELECT id, :digest, 'bk_test', '[]', CURRENT_TIMESTAMP FROM users WHERE email = :email",
        email=email,
        digest=f"digest-of-{email}",
    )


def keys_owned_by(db: Db, email: str = "owner@example.com") -> int:
    return int(
        db.scalar(
            "SELECT count(*) FROM api_keys JOIN users ON users.id = api_keys.user_id "
            "WHERE users.email = :email",
            email=email,
        )
    )


# -- up, down, up ----------------------------------------------------------------------------------


def test_migrations_go_up_then_down_to_base_then_up_again(empty_db: Db, tmp_path: Path) -> None:
    app = app_config(empty_db, tmp_path)

    first = upgrade(app)
    assert (first.before, first.after) == ((), first.heads)
    assert empty_db.tables() >= OUR_TABLES

    down = downgrade(app, "base")
    assert (down.before, down.after) == (first.heads, ())
    assert empty_db.tables() & OUR_TABLES == set()
    assert revisions(app) == ()

    again = upgrade(app)
    assert again.after == again.heads
    assert empty_db.tables() >= OUR_TABLES
    # At head and without drift: the models and the migrations describe the same schema.
    assert on_app(app, schema.check).at_head


@ONLY_SQLITE
def test_upgrading_a_database_at_head_changes_nothing(db: Db, tmp_path: Path) -> None:
    app = app_config(db, tmp_path)
    before = db.dump()
    result = upgrade(app)
    assert not result.changed
    assert db.dump() == before


def test_the_profile_is_stamped_on_the_first_upgrade_and_kept_after(
    empty_db: Db, tmp_path: Path
) -> None:
    upgrade(app_config(empty_db, tmp_path, "test"))
    stamp = dict(empty_db.rows("SELECT key, value FROM app_meta"))
    assert stamp == {"profile": "test", "protected": "false"}

    upgrade(app_config(empty_db, tmp_path, "dev"))
    assert dict(empty_db.rows("SELECT key, value FROM app_meta"))["profile"] == "test"


@ONLY_SQLITE
def test_a_protected_profile_claims_an_unprotected_database_and_keeps_it(
    empty_db: Db, tmp_path: Path
) -> None:
    upgrade(app_config(empty_db, tmp_path, "dev"))
    upgrade(app_config(empty_db, tmp_path, "prod"))
    assert dict(empty_db.rows("SELECT key, value FROM app_meta")) == {
        "profile": "prod",
        "protected": "true",
    }
    upgrade(app_config(empty_db, tmp_path, "dev"))
    assert dict(empty_db.rows("SELECT key, value FROM app_meta"))["profile"] == "prod"


# -- batch migration of a parent table ------------------------------------------------------------


@ONLY_SQLITE
def test_child_rows_survive_a_forced_batch_copy_of_their_parent_table_on_sqlite(
    db: Db, extra: ExtraMigrations
) -> None:
    added = extra.add("copy_users", BATCH_COPY_USERS, UNDO_BATCH_COPY_USERS)
    app = app_config(db, extra.root)
    insert_user_with_key(db)

    assert upgrade(app).after == (added,)
    assert "nickname" in db.columns("users")
    assert keys_owned_by(db) == 1

    downgrade(app, "-1")
    assert "nickname" not in db.columns("users")
    assert keys_owned_by(db) == 1


@ONLY_POSTGRESQL
def test_a_forced_batch_copy_of_a_referenced_table_fails_on_postgresql_and_changes_nothing(
    db: Db, extra: ExtraMigrations
) -> None:
    """Alembic drops the old primary key first, which the api_keys foreign key forbids."""
    extra.add("copy_users", BATCH_COPY_USERS, UNDO_BATCH_COPY_USERS)
    app = app_config(db, extra.root)
    insert_user_with_key(db)
    before = db.dump()
    with pytest.raises(MigrationFailed, match=r"rolled back.*other objects depend on it"):
        upgrade(app)
    assert db.dump() == before
    assert "nickname" not in db.columns("users")


def test_child_rows_survive_a_portable_batch_migration_of_their_parent_table(
    db: Db, extra: ExtraMigrations
) -> None:
    added = extra.add("alter_users", PORTABLE_BATCH_USERS, UNDO_PORTABLE_BATCH_USERS)
    app = app_config(db, extra.root)
    insert_user_with_key(db)

    assert upgrade(app).after == (added,)
    assert "nickname" in db.columns("users")
    if db.kind == "sqlite":  # the new type can only be there if the table was copied
        assert "VARCHAR(300)" in str(
            db.scalar("SELECT sql FROM sqlite_master WHERE name = 'users'")
        )
    assert keys_owned_by(db) == 1

    downgrade(app, "-1")
    assert keys_owned_by(db) == 1
    assert "nickname" not in db.columns("users")


def test_foreign_keys_still_hold_after_a_batch_migration_of_the_parent_table(
    db: Db, extra: ExtraMigrations
) -> None:
    """The app's own connections (foreign keys ON) still see a working users <- api_keys link."""
    extra.add("alter_users", PORTABLE_BATCH_USERS, UNDO_PORTABLE_BATCH_USERS)
    app = app_config(db, extra.root)
    insert_user_with_key(db)
    upgrade(app)

    async def delete_the_owner_then_orphan_a_key(ctx: ServiceContext, _cfg: object) -> None:
        async with uow(ctx) as u:
            await u.session.execute(text("DELETE FROM users"))
        with pytest.raises(NotFound):  # the foreign key refused the orphan
            async with uow(ctx) as u:
                await u.session.execute(
                    text(
                        "INSERT INTO api_keys (user_id, digest, display_prefix, scopes, "
                        "created_at) VALUES (424242, 'orphan', 'bk_o', '[]', CURRENT_TIMESTAMP)"
                    )
                )

    on_app(app, delete_the_owner_then_orphan_a_key)
    assert db.count("api_keys") == 0  # ON DELETE CASCADE still points at the new users table


@ONLY_SQLITE  # PostgreSQL enforces foreign keys during migrations: nothing to check after
def test_a_migration_that_orphans_rows_is_rolled_back_by_the_foreign_key_check(
    db: Db, extra: ExtraMigrations
) -> None:
    extra.add("orphan_keys", 'op.execute("DELETE FROM users")')
    app = app_config(db, extra.root)
    insert_user_with_key(db)
    before = db.dump()

    with pytest.raises(MigrationFailed, match=r"rolled back.*rows without their parent"):
        upgrade(app)
    assert db.dump() == before
