from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.app.models.base import Base, BigId, UTCDateTime, utcnow


class ApiKey(Base):
    """An API key. Only a digest of the key is stored, never the key itself."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "(user_id IS NULL) <> (service_account_id IS NULL)", name="exactly_one_owner"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    service_account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("service_accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 (or HMAC-SHA-256 with the pepper) of the whole key, hex: the one lookup column.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key: safe to show, enough to tell keys apart.
    display_prefix: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the expiring-soon report and keys.prune look keys up by these.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The key this one replaced by `keys.rotate`. Indexed: deleting a key looks up the keys
    # rotated from it (ON DELETE SET NULL), and an unindexed lookup per deleted key made deleting
    # an owner with many keys quadratic.
    rotated_from_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
