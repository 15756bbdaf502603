"""The per-invocation ``APP_*`` switches, parsed in one place for every way in.

The CLI, the migration runner and the plain ``alembic`` CLI all read them through
:meth:`Switches.from_environ`, so ``APP_ALLOW_DESTRUCTIVE=maybe`` is invalid input everywhere
(never quietly false in one place and an error in another). They describe one invocation, not a
deployment: they are read from the process environment only, never from ``.env`` or a profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from backend.app.errors import InvalidInput

ENV_PREFIX = "APP_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
# The switches share the settings' prefix but are not settings.
SWITCH_NAMES = frozenset(
    ENV_PREFIX + name
    for name in (
        "PROFILE",
        "OUTPUT",
        "ASSUME_YES",
        "ALLOW_DESTRUCTIVE",
        "ACTOR",
        "DEBUG",
        "ROOT",
        "DRY_RUN",
    )
)
MAX_ACTOR_LENGTH = 320


def env_flag(name: str, environ: Mapping[str, str]) -> bool:
    """A yes/no switch: unset or empty is no; anything but the usual spellings is an error."""
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f"{name} must be 1 or 0 (true/false, yes/no, on/off)")


@dataclass(frozen=True)
class Switches:
    output_json: bool = False
    assume_yes: bool = False
    allow_destructive: bool = False
    actor: str | None = None
    debug: bool = False
    dry_run: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Switches:
        env = os.environ if environ is None else environ
        output = env.get(ENV_PREFIX + "OUTPUT", "").strip().lower()
        if output not in ("", "human", "json"):
            raise InvalidInput("APP_OUTPUT must be 'human' or 'json'")
        actor = env.get(ENV_PREFIX + "ACTOR", "").strip() or None
        if actor is not None and (len(actor) > MAX_ACTOR_LENGTH or not actor.isprintable()):
            raise InvalidInput(f"APP_ACTOR must be at most {MAX_ACTOR_LENGTH} printable characters")
        return cls(
            output_json=output == "json",
            assume_yes=env_flag(ENV_PREFIX + "ASSUME_YES", env),
            allow_destructive=env_flag(ENV_PREFIX + "ALLOW_DESTRUCTIVE", env),
            actor=actor,
            debug=env_flag(ENV_PREFIX + "DEBUG", env),
            dry_run=env_flag(ENV_PREFIX + "DRY_RUN", env),
        )


def default_actor() -> str:
    """``cli:<os user>@<host>``, even in a container whose uid has no passwd entry."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}@{socket.gethostname() or 'localhost'}"
