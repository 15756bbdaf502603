"""Where each setting came from, what an operator may see of it, and what looks wrong.

Used by the `config` tasks and `db.check`. Secrets are masked unless the caller asks for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, SecretStr
from pydantic_settings import EnvSettingsSource

from backend.app.core.dotenv import closest, read_dotenv
from backend.app.core.durations import format_duration
from backend.app.core.profiles import profile_values
from backend.app.core.redaction import MASK, is_secret_name, mask_url
from backend.app.core.settings import ENV_NESTED_DELIMITER, INSECURE_DEFAULT_SECRET_KEY, Settings
from backend.app.core.switches import ENV_PREFIX, SWITCH_NAMES

if TYPE_CHECKING:
    from backend.app.core.config import AppConfig

MIN_SECRET_KEY_LENGTH = 32


@dataclass(frozen=True)
class SettingValue:
    path: str  # dotted, e.g. "passwords.min_length"
    value: Any  # ready to show: secrets masked unless asked for
    source: str  # "default", ".env", "invoke profile dev", "environment variable APP_X", ...
    secret: bool


def leaf_paths(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[str]:
    """Every setting, nested groups expanded: ``database_url``, ``passwords.min_length``, ..."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaf_paths(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def env_names(path: str) -> list[str]:
    """The environment variables that can set ``path`` (the leaf, or its whole group as JSON)."""
    parts = path.upper().split(".")
    names = [ENV_PREFIX + ENV_NESTED_DELIMITER.join(parts)]
    if len(parts) > 1:
        names.append(ENV_PREFIX + parts[0])
    return names


def _lookup(values: Mapping[str, Any], path: str) -> bool:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return False
        lowered = {str(k).lower(): v for k, v in node.items()}
        if part not in lowered:
            return False
        node = lowered[part]
    return True


def _value_at(model: BaseModel, path: str) -> Any:
    node: Any = model
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _shown(path: str, value: Any, *, show_secrets: bool) -> tuple[Any, bool]:
    secret = isinstance(value, SecretStr) or is_secret_name(path)
    if isinstance(value, SecretStr):
        value = value.get_secret_value() if show_secrets else MASK
    elif secret and value is not None and not show_secrets:
        value = MASK
    elif path == "database_url" and isinstance(value, str) and not show_secrets:
        value = mask_url(value)
    if isinstance(value, timedelta):
        value = format_duration(value)
    return value, secret


def describe(
    app: AppConfig, *, show_secrets: bool = False, environ: Mapping[str, str] | None = None
) -> list[SettingValue]:
    """Every setting's effective value and the layer that won it, highest layer first."""
    env = os.environ if environ is None else environ
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("explicit flag", app.overrides),
        ("environment", EnvSettingsSource(Settings)()),
        (f"invoke profile {app.profile.name}", profile_values(app.app, app.profile.name)),
        (".env", read_dotenv(app.root / ".env", Settings).values),
    ]
    upper_env = {name.upper(): name for name in env}
    described = []
    for path in leaf_paths():
        source = "default"
        for name, values in layers:
            if _lookup(values, path):
                source = name
                if name == "environment":
                    found = [upper_env[n] for n in env_names(path) if n in upper_env]
                    source = f"environment variable {found[0] if found else env_names(path)[0]}"
                break
        value, secret = _shown(path, _value_at(app.settings, path), show_secrets=show_secrets)
        described.append(SettingValue(path, value, source, secret))
    return described


def as_tree(values: list[SettingValue]) -> dict[str, Any]:
    """The described settings as nested objects, the way they are written in invoke.yaml."""
    tree: dict[str, Any] = {}
    for item in values:
        node = tree
        *groups, leaf = item.path.split(".")
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = item.value
    return tree


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """Warnings for APP_* variables that match no setting and no switch (typos)."""
    env = os.environ if environ is None else environ
    known = {name for path in leaf_paths() for name in env_names(path)} | SWITCH_NAMES
    return [
        f"{name} is set but is not a setting; it is ignored{closest(name, sorted(known))}"
        for name in sorted(env)
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
    ]


def dotenv_notes(app: AppConfig) -> list[str]:
    """Lines of .env that were ignored because they tried to lower a safety guard."""
    return list(read_dotenv(app.root / ".env", Settings).ignored)


def secrets_in_profile(app: AppConfig) -> list[str]:
    """Warnings for secret settings written into invoke.yaml (it is committed and printable)."""
    values = profile_values(app.app, app.profile.name)
    return [
        f"{path} is set in invoke.yaml (profile {app.profile.name}): keep secrets in the "
        "environment or .env"
        for path in leaf_paths()
        if _lookup(values, path) and (is_secret_name(path) or _is_secret_field(path))
    ]


def _is_secret_field(path: str) -> bool:
    model: type[BaseModel] = Settings
    *groups, leaf = path.split(".")
    for group in groups:
        annotation = model.model_fields[group].annotation
        assert isinstance(annotation, type)
        assert issubclass(annotation, BaseModel)
        model = annotation
    annotation = model.model_fields[leaf].annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


def production_problems(app: AppConfig) -> list[str]:
    """What makes a protected profile unsafe to run: weak secret key, SQLite, no database."""
    if not app.protected:
        return []
    settings = app.settings
    problems = []
    key = settings.secret_key.get_secret_value()
    if key == INSECURE_DEFAULT_SECRET_KEY:
        problems.append("secret_key is the insecure default (set APP_SECRET_KEY)")
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"secret_key is shorter than {MIN_SECRET_KEY_LENGTH} characters")
    if not settings.database_url:
        problems.append("database_url is not set (set APP_DATABASE_URL)")
    elif settings.is_sqlite:
        problems.append("database_url is SQLite; a protected profile needs a server database")
    return problems
