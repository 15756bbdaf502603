"""Safety guards shared by destructive use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.app.errors import ConfirmationRequired, Refused

if TYPE_CHECKING:
    from backend.app.core.settings import Settings
    from backend.app.repositories.schema import Stamp

ALLOW_DESTRUCTIVE = "APP_ALLOW_DESTRUCTIVE=1"


def confirmation_needed(settings: Settings) -> bool:
    """A protected profile always asks, whatever its confirm_destructive says."""
    return settings.confirm_destructive or settings.protected


def require_confirmation(settings: Settings, *, confirmed: bool, what: str) -> None:
    """Refuse a destructive action that was not confirmed, unless the profile does not ask."""
    if confirmation_needed(settings) and not confirmed:
        raise ConfirmationRequired(f"{what} is destructive and was not confirmed")


def require_unprotected(stamp: Stamp | None, *, allow_destructive: bool, what: str) -> None:
    """Refuse to destroy a database stamped with a protected profile, whatever profile is active."""
    if stamp is None or not stamp.protected or allow_destructive:
        return
    raise Refused(
        f"{what} refused: the database was migrated under the protected profile "
        f"{stamp.profile!r}; confirming is not enough, set {ALLOW_DESTRUCTIVE} as well if you "
        "really mean it"
    )
