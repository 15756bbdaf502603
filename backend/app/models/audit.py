from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.app.models.base import Base, BigId, UTCDateTime, utcnow


class AuditEvent(Base):
    """One mutating command: who did what to which thing. Never holds a secret."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # `audit.list --key ID`: the events about one key.
        Index("ix_audit_events_target_type_target_id", "target_type", "target_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(320))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The principal the event concerns, as it was named then ("user:bob@example.com",
    # "account:ci"): the user or account itself, or the owner of the key. It answers "what
    # happened to bob" even after bob and his keys are deleted.
    subject: Mapped[str | None] = mapped_column(String(330), index=True)
