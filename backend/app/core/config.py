"""The configuration of one task run: project root, active profile and the Settings built for it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.core.profiles import (
    ProfileChoice,
    choose_profile,
    known_profiles,
    profile_values,
    read_config_files,
)

if TYPE_CHECKING:
    from backend.app.core.settings import Settings


@dataclass(frozen=True)
class AppConfig:
    """What a task (or alembic's env.py) runs with."""

    root: Path
    profile: ProfileChoice
    settings: Settings
    app: Mapping[str, Any] = field(repr=False)
    config_files: tuple[Path, ...] = ()
    # Settings given as explicit flags, the highest layer (kept to report provenance).
    overrides: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def profiles(self) -> list[str]:
        return known_profiles(self.app)

    @property
    def protected(self) -> bool:
        return self.settings.protected


def project_root(found_config_dir: str | Path | None = None) -> Path:
    """The folder of the invoke.yaml in use; without a checkout APP_ROOT, else the cwd."""
    if found_config_dir:
        return Path(found_config_dir).resolve()
    if os.environ.get("APP_ROOT"):
        return Path(os.environ["APP_ROOT"]).expanduser().resolve()
    return Path.cwd()


def load_app_config(
    *,
    app: Mapping[str, Any],
    root: Path,
    selected: str | None = None,
    selected_via: str = "task",
    overrides: Mapping[str, Any] | None = None,
    config_files: tuple[Path, ...] = (),
) -> AppConfig:
    """Choose the profile and build its Settings from an already merged ``app:`` mapping."""
    from backend.app.core.settings import build_settings

    choice = choose_profile(app, selected=selected, selected_via=selected_via)
    values = profile_values(app, choice.name)
    settings = build_settings(profile_values=values, root=root, overrides=overrides)
    if values.get("protected") is True and not settings.protected:
        # A protected profile stays protected whatever another layer says: its guards hold.
        settings = settings.model_copy(update={"protected": True})
    return AppConfig(
        root=root,
        profile=choice,
        settings=settings,
        app=app,
        config_files=config_files,
        overrides=dict(overrides or {}),
    )


def load_from_files(root: Path, *, overrides: Mapping[str, Any] | None = None) -> AppConfig:
    """Load the way the plain ``alembic`` CLI must: invoke's config files, read without invoke."""
    app, found = read_config_files(root)
    return load_app_config(app=app, root=root, overrides=overrides, config_files=tuple(found))
