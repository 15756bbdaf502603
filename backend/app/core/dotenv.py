"""``.env`` in the project root, read as the lowest layer of settings above the defaults.

The file is often shared with other tools (docker compose, ...): only its ``APP_*`` lines are
ours, and of those only settings (the per-invocation switches are read from the process
environment alone). A misspelt ``APP_*`` setting is an error naming the file and the closest
setting. A ``.env`` line can never lower a safety guard (``protected``,
``confirm_destructive``): such a line is ignored and reported.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from backend.app.core.profiles import check_config_file
from backend.app.core.switches import ENV_PREFIX, SWITCH_NAMES
from backend.app.errors import InvalidInput

NESTED_DELIMITER = "__"
GUARDS = frozenset({"protected", "confirm_destructive"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})


@dataclass(frozen=True)
class DotEnv:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)  # nested, as the model is
    ignored: tuple[str, ...] = ()  # lines that tried to lower a guard, described


def setting_names(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Every variable that can set a setting -> the setting's path (a group's name sets it
    whole, as JSON)."""
    names: dict[str, tuple[str, ...]] = {}
    for name, info in model.model_fields.items():
        names[ENV_PREFIX + name.upper()] = (name,)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for leaf in annotation.model_fields:
                names[ENV_PREFIX + f"{name}{NESTED_DELIMITER}{leaf}".upper()] = (name, leaf)
    return names


def closest(name: str, candidates: list[str]) -> str:
    found = closest_match(name.upper(), candidates, cutoff=0.75)
    return f" (did you mean {found}?)" if found else ""


def closest_match(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate ``name`` most likely misspells: of the close ones, the one sharing the
    longest start with it (``argon2_memory_cost`` is ``argon2_memory_kib``, which difflib alone
    ranks below ``argon2_time_cost``)."""
    found = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=cutoff)
    if not found:
        return None
    return max(found, key=lambda candidate: _shared_start(name, candidate))


def _shared_start(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def read_dotenv(path: Path, model: type[BaseModel]) -> DotEnv:
    if not path.is_file():
        return DotEnv(path)
    # It chooses the database and the secrets, as invoke.yaml does: the same owner check.
    check_config_file(path)
    from dotenv import dotenv_values

    known = setting_names(model)
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for key, raw in dotenv_values(path).items():
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper in SWITCH_NAMES or not raw:
            continue
        if upper not in known:
            raise InvalidInput(f"{path}: {key} is not a setting{closest(upper, list(known))}")
        where = known[upper]
        if where[0] in GUARDS and raw.strip().lower() in _FALSE:
            ignored.append(f"{key}={raw.strip()} in {path} is ignored: .env cannot lower a guard")
            continue
        _place(values, where, _value(model, where, raw, key, path))
    return DotEnv(path, values, tuple(ignored))


def _value(model: type[BaseModel], where: tuple[str, ...], raw: str, key: str, path: Path) -> Any:
    annotation = model.model_fields[where[0]].annotation
    whole_group = (
        len(where) == 1 and isinstance(annotation, type) and issubclass(annotation, BaseModel)
    )
    if not whole_group:
        return raw
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise InvalidInput(
            f"invalid setting {where[0]}: {key} in {path} is not a JSON object (or set one key "
            f"at a time, e.g. {key}{NESTED_DELIMITER}KEY)"
        )
    return decoded


def _place(values: dict[str, Any], where: tuple[str, ...], value: Any) -> None:
    if len(where) == 1:
        if isinstance(value, dict) and isinstance(values.get(where[0]), dict):
            values[where[0]].update(value)
        else:
            values[where[0]] = value
        return
    group = values.setdefault(where[0], {})
    if isinstance(group, dict):
        group[where[1]] = value
