"""What every use case runs with: settings, the run's database, who is acting."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from backend.app.core.database import Database
    from backend.app.core.security import PasswordHasher
    from backend.app.core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceContext:
    """Built once per run (or once per application process) and passed to every use case."""

    settings: Settings
    database: Database
    actor: str

    @cached_property
    def passwords(self) -> PasswordHasher:
        from backend.app.core.security import PasswordHasher

        return PasswordHasher(self.settings.passwords)

    @cached_property
    def pepper(self) -> bytes | None:
        """The server secret that keys API key digests, if one is configured."""
        pepper = self.settings.api_keys.pepper
        return pepper.get_secret_value().encode() if pepper else None


@dataclass(frozen=True)
class Change(Generic[T]):
    """The outcome of an idempotent use case: the thing, and whether anything changed."""

    value: T
    changed: bool
