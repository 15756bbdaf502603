from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.app.models.base import Base, UTCDateTime, utcnow

# Keys of the rows in app_meta.
STAMP_PROFILE = "profile"
STAMP_PROTECTED = "protected"


class AppMeta(Base):
    """Facts about the database itself, such as the profile it was first migrated under."""

    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
