"""The SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from backend.app.models.api_key import ApiKey
from backend.app.models.audit import AuditEvent
from backend.app.models.base import Base, UTCDateTime, utcnow
from backend.app.models.meta import AppMeta
from backend.app.models.service_account import ServiceAccount
from backend.app.models.user import User

__all__ = [
    "ApiKey",
    "AppMeta",
    "AuditEvent",
    "Base",
    "ServiceAccount",
    "UTCDateTime",
    "User",
    "utcnow",
]
