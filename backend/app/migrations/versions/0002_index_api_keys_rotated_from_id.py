"""index api_keys.rotated_from_id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:20:00

Deleting a key looks up the keys rotated from it (the self-referencing foreign key is ON DELETE
SET NULL). Without this index that is a full scan of api_keys per deleted key: deleting an
account or a user with 20,000 keys took minutes on SQLite and seconds on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_api_keys_rotated_from_id"), "api_keys", ["rotated_from_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_rotated_from_id"), table_name="api_keys")
