"""Profiles: the shipped defaults, reading ``invoke.yaml`` without invoke, choosing the active one.

Invoke itself merges these same files for the tasks in a checkout; the plain ``alembic`` CLI and
installed programs use :func:`read_config_files` so that both tools always pick the same
database.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.app.errors import InvalidInput, quote

DEFAULT_PROFILE = "dev"

# The profiles every install has; a checkout's invoke.yaml merges over them key by key. They
# name no database: an installed program that lost its environment must not quietly create and
# "migrate" a throwaway file (the checkout's invoke.yaml names its own).
PACKAGE_DEFAULTS: dict[str, Any] = {
    "profile": DEFAULT_PROFILE,
    "profiles": {
        "dev": {
            "confirm_destructive": False,
            "admin_email": "admin@example.com",
        },
        "test": {},
        "prod": {
            "protected": True,
        },
    },
}

CONFIG_SUFFIXES = ("yaml", "yml", "json")


def package_defaults() -> dict[str, Any]:
    """A fresh copy of the shipped ``app:`` configuration."""
    return copy.deepcopy(PACKAGE_DEFAULTS)


def merge_dicts(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into ``base`` in place (nested mappings merge key by key)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_dicts(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = merge_dicts({}, value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def plain(value: Any) -> Any:
    """Turn invoke's DataProxy (or any mapping/sequence tree) into plain dicts and lists."""
    if isinstance(value, Mapping) or hasattr(value, "keys"):
        return {str(k): plain(value[k]) for k in value.keys()}  # noqa: SIM118 (DataProxy)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def config_file_candidates(root: Path | None) -> list[tuple[str, list[Path]]]:
    """The files invoke reads, level by level (system, user, project), first suffix wins."""
    levels: list[tuple[str, list[Path]]] = []
    if os.name != "nt":
        levels.append(("system", [Path(f"/etc/invoke.{s}") for s in CONFIG_SUFFIXES]))
    home = Path(os.path.expanduser("~"))
    levels.append(("user", [home / f".invoke.{s}" for s in CONFIG_SUFFIXES]))
    if root is not None:
        levels.append(("project", [root / f"invoke.{s}" for s in CONFIG_SUFFIXES]))
    return levels


def read_config_files(root: Path | None) -> tuple[dict[str, Any], list[Path]]:
    """Merge the ``app:`` sections of the invoke config files over the package defaults.

    Returns the merged ``app`` mapping and the files that were found, in load order.
    """
    merged = package_defaults()
    found: list[Path] = []
    for _level, candidates in config_file_candidates(root):
        for path in candidates:
            if not path.is_file():
                continue
            check_config_file(path)
            data = _load_file(path)
            found.append(path)
            app = data.get("app") if isinstance(data, Mapping) else None
            if app is not None:
                if not isinstance(app, Mapping):
                    raise InvalidInput(f"{path}: 'app' must be a mapping")
                merge_dicts(merged, app)
            break
    return merged, found


def check_config_file(path: Path) -> None:
    """Refuse a config file someone else could have written, as ssh refuses an unsafe config:
    it chooses the database and lowers guards (a `.env` file: the database and the secrets). A
    group-writable file of one's own is normal (a umask of 002 is many distributions' default)
    and accepted."""
    if os.name == "nt":
        return
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_uid not in (os.getuid(), 0):
        raise InvalidInput(
            f"refusing {path}: it belongs to another user (uid {info.st_uid}); a config file "
            "chooses the database and the safety guards, so only you or root may own it"
        )
    if info.st_mode & 0o002:
        raise InvalidInput(
            f"refusing {path}: everyone can write to it (chmod o-w {path} to accept it)"
        )


def _load_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"{path} is not valid JSON: {exc}") from None
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise InvalidInput(
            f"{path} is not valid YAML{line}: {getattr(exc, 'problem', exc)}"
        ) from None


@dataclass(frozen=True)
class ProfileChoice:
    """The active profile and why it is active."""

    name: str
    reason: str  # "task", "flag", "env", "config" or "default"

    def describe(self) -> str:
        return {
            "task": "chosen by a leading `profile` task",
            "flag": "chosen on the command line",
            "env": "chosen by APP_PROFILE",
            "config": "app.profile in the invoke config",
            "default": "the default",
        }[self.reason]


def choose_profile(
    app: Mapping[str, Any],
    *,
    selected: str | None = None,
    selected_via: str = "task",
    environ: Mapping[str, str] | None = None,
) -> ProfileChoice:
    """Pick the active profile: the command line's choice, else APP_PROFILE, else app.profile."""
    env = os.environ if environ is None else environ
    if selected:
        choice = ProfileChoice(selected, selected_via)
    elif env.get("APP_PROFILE"):
        choice = ProfileChoice(env["APP_PROFILE"], "env")
    elif app.get("profile"):
        choice = ProfileChoice(str(app["profile"]), "config")
    else:
        choice = ProfileChoice(DEFAULT_PROFILE, "default")
    known = known_profiles(app)
    if choice.name not in known:
        raise InvalidInput(
            f"unknown profile {quote(choice.name)} ({choice.describe()}); "
            f"known profiles: {', '.join(known) or '(none)'}"
        )
    return choice


def known_profiles(app: Mapping[str, Any]) -> list[str]:
    profiles = app.get("profiles") or {}
    return sorted(profiles) if isinstance(profiles, Mapping) else []


def profile_values(app: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The settings a profile sets, as a plain dict."""
    profiles = app.get("profiles") or {}
    values = profiles.get(name) or {}
    if not isinstance(values, Mapping):
        raise InvalidInput(f"profile {name!r} must be a mapping of settings")
    result = plain(values)
    assert isinstance(result, dict)
    return result
