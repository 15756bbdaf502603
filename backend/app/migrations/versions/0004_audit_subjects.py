"""audit events name their subject; keys indexed by expiry and revocation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:00:00

``audit_events.subject`` names the principal an event concerns, as it was named then
("user:bob@example.com", "account:ci"): the user or account itself, or the owner of the key.
``audit.list --user/--account`` filter on it (indexed), and keep answering after the principal
is deleted. Existing events get it from their target, or from the key's owner while the key still
exists. The keys' expiry and revocation times are indexed for the stale-key reports and
``keys.prune``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT_FROM_THE_KEY = """
UPDATE audit_events SET subject = (
    SELECT CASE WHEN k.user_id IS NOT NULL THEN 'user:' || u.email
                ELSE 'account:' || a.name END
    FROM api_keys k
    LEFT JOIN users u ON u.id = k.user_id
    LEFT JOIN service_accounts a ON a.id = k.service_account_id
    WHERE CAST(k.id AS VARCHAR(64)) = audit_events.target_id
)
WHERE target_type = 'key'
"""


def upgrade() -> None:
    # A plain ADD/DROP COLUMN (SQLite has both since 3.35), not a batch copy: it renders as SQL
    # without a live database (--sql), and costs nothing on a large audit trail.
    op.add_column("audit_events", sa.Column("subject", sa.String(length=330), nullable=True))
    op.execute(
        "UPDATE audit_events SET subject = target_type || ':' || target "
        "WHERE target_type IN ('user', 'account') AND target IS NOT NULL"
    )
    op.execute(SUBJECT_FROM_THE_KEY)
    op.create_index(op.f("ix_audit_events_subject"), "audit_events", ["subject"])
    op.create_index(
        "ix_audit_events_target_type_target_id", "audit_events", ["target_type", "target_id"]
    )
    op.create_index(op.f("ix_api_keys_expires_at"), "api_keys", ["expires_at"])
    op.create_index(op.f("ix_api_keys_revoked_at"), "api_keys", ["revoked_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_revoked_at"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_expires_at"), table_name="api_keys")
    op.drop_index("ix_audit_events_target_type_target_id", table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_subject"), table_name="audit_events")
    op.drop_column("audit_events", "subject")
