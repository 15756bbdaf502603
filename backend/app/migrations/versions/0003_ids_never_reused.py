"""ids are never reused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:00:00

Without AUTOINCREMENT, SQLite gives a new row the id of the last row deleted: delete user 2,
create another, and the audit events about "user 2" now describe two different people.
PostgreSQL's sequences never go back, so only SQLite's tables are rebuilt: batch mode copies
each into a new table declared AUTOINCREMENT, which starts above every id used so far. The
tables are spelled out as they stand at 0002 (``copy_from``), so ``--sql`` can render this
without reflecting a live database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.Integer  # the SQLite variant of the models' BigId


def _tables() -> list[sa.Table]:
    meta = sa.MetaData()
    stamp = sa.DateTime(timezone=True)
    users = sa.Table(
        "users",
        meta,
        sa.Column("id", Id, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("role", sa.String(16), server_default="member", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
        sa.Column("password_changed_at", stamp, nullable=False),
        sa.Column("last_login_at", stamp),
        sa.CheckConstraint("role IN ('admin', 'member')", name="ck_users_role"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    accounts = sa.Table(
        "service_accounts",
        meta,
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
        sa.UniqueConstraint("name", name="uq_service_accounts_name"),
    )
    keys = sa.Table(
        "api_keys",
        meta,
        sa.Column("id", Id, primary_key=True),
        sa.Column(
            "user_id",
            Id,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_keys_user_id_users"),
        ),
        sa.Column(
            "service_account_id",
            Id,
            sa.ForeignKey(
                "service_accounts.id",
                ondelete="CASCADE",
                name="fk_api_keys_service_account_id_service_accounts",
            ),
        ),
        sa.Column("name", sa.String(200)),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("display_prefix", sa.String(32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("expires_at", stamp),
        sa.Column("revoked_at", stamp),
        sa.Column("last_used_at", stamp),
        sa.Column(
            "rotated_from_id",
            Id,
            sa.ForeignKey(
                "api_keys.id", ondelete="SET NULL", name="fk_api_keys_rotated_from_id_api_keys"
            ),
        ),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (service_account_id IS NULL)",
            name="ck_api_keys_exactly_one_owner",
        ),
        sa.UniqueConstraint("digest", name="uq_api_keys_digest"),
    )
    sa.Index("ix_api_keys_user_id", keys.c.user_id)
    sa.Index("ix_api_keys_service_account_id", keys.c.service_account_id)
    sa.Index("ix_api_keys_rotated_from_id", keys.c.rotated_from_id)
    events = sa.Table(
        "audit_events",
        meta,
        sa.Column("id", Id, primary_key=True),
        sa.Column("occurred_at", stamp, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64)),
        sa.Column("target", sa.String(320)),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    sa.Index("ix_audit_events_action", events.c.action)
    sa.Index("ix_audit_events_actor", events.c.actor)
    sa.Index("ix_audit_events_occurred_at", events.c.occurred_at)
    return [users, accounts, keys, events]


def _rebuild(autoincrement: bool) -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for table in _tables():
        with op.batch_alter_table(
            table.name,
            recreate="always",
            copy_from=table,
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
