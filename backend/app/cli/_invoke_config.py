"""What the runtime reads from invoke's Config: the ``app:`` section, the project folder and the
config files invoke loaded.

invoke has no public getter for the last two, so this module reads its private attributes
(``_project_prefix``, ``_system_path``, ...), here and nowhere else;
``tests/unit/test_invoke_config.py`` fails loudly if an upgrade of invoke renames them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.core.config import AppConfig

CONFIG_LEVELS = ("system", "user", "project", "runtime")


def project_folder(config: Any) -> Path | None:
    """The folder invoke took as the project (that of tasks.py, or the one backendctl found)."""
    prefix = getattr(config, "_project_prefix", None)
    return Path(prefix) if prefix else None


def loaded_files(config: Any) -> tuple[Path, ...]:
    """The config files invoke actually loaded, in load order."""
    found = []
    for level in CONFIG_LEVELS:
        path = getattr(config, f"_{level}_path", None)
        # invoke records a missing *.py config file as found (it loads it as {}): check.
        if path and Path(path).is_file():
            found.append(Path(path))
    return tuple(found)


def level_data(config: Any, level: str) -> dict[str, Any]:
    """What one level's file contributed (``system``, ``user``, ``project``)."""
    data = getattr(config, f"_{level}", None)
    return data if isinstance(data, dict) else {}


def level_path(config: Any, level: str) -> str | None:
    path = getattr(config, f"_{level}_path", None)
    return str(path) if path else None


def current_overrides(config: Any) -> dict[str, Any]:
    """The overrides level (what the command line set), to add to before it is loaded again."""
    data = getattr(config, "_overrides", None)
    return data if isinstance(data, dict) else {}


def app_section(config: Any) -> dict[str, Any]:
    """The shipped ``app:`` defaults with the invoke config's ``app:`` merged over them."""
    from backend.app.core.profiles import merge_dicts, package_defaults, plain

    merged = package_defaults()
    if "app" not in config:
        return merged
    raw = plain(config["app"])
    if not isinstance(raw, dict):
        raise InvalidInput("the invoke config's `app:` must be a mapping (see invoke.yaml)")
    return merge_dicts(merged, raw)


def app_config(config: Any) -> AppConfig:
    """The run's AppConfig from invoke's merged config (``app:``) and its project location."""
    from backend.app.core.config import load_app_config, project_root
    from backend.app.core.profiles import check_config_file

    files = loaded_files(config)
    for path in files:
        check_config_file(path)
    app = app_section(config)
    selected = app.pop("selected_profile", None)
    selected_via = app.pop("selected_via", "task")
    folder = project_folder(config)
    return load_app_config(
        app=app,
        root=project_root(folder),
        selected=selected,
        selected_via=selected_via,
        config_files=files,
    )
