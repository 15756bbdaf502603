"""Safety guards shared by destructive use cases."""

from __future__ import annotations

from backend.app.core.settings import Settings
from backend.app.errors import Refused


def require_confirmation(settings: Settings, *, confirmed: bool, action: str) -> None:
    """Refuse a destructive action without --yes, unless the profile turned confirmation off."""
    if settings.confirm_destructive and not confirmed:
        raise Refused(f"{action} is destructive: pass --yes (or set APP_ASSUME_YES=1) to confirm")


def require_unprotected(
    stamp: tuple[str, bool] | None, *, allow_destructive: bool, action: str
) -> None:
    """Refuse to destroy a database stamped with a protected profile, whatever profile is active."""
    if stamp is None or not stamp[1] or allow_destructive:
        return
    raise Refused(
        f"{action} refused: the database was migrated under the protected profile {stamp[0]!r}; "
        "--yes is not enough, set APP_ALLOW_DESTRUCTIVE=1 as well if you really mean it"
    )
