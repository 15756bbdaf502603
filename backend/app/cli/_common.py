"""Pieces several namespaces share: password sources, confirmations, how records are shown."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.cli._runtime import Runtime
    from backend.app.models import ServiceAccount, User

PASSWORD_HELP = {
    "password_stdin": "read the password from standard input (a terminal is asked twice, no echo)",
    "password_env": "read the password from the environment variable NAME",
    "random_password": "generate a random password and print it once",
}
YES_HELP = "confirm a destructive change (or set APP_ASSUME_YES=1)"
NOT_CREATED = "(not created: dry run)"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


@dataclass(frozen=True)
class Password:
    """A password from one source. ``generated`` ones are printed once; the rest never."""

    value: str
    source: str  # "stdin", "env:NAME" or "random" (safe to audit: never the value)
    generated: bool = False

    def __repr__(self) -> str:
        return f"Password(source={self.source!r})"


def read_password(
    rt: Runtime, *, stdin: bool, env: str | None, random: bool, required: bool
) -> Password | None:
    """The password from the one source the flags name. No flag ever carries the password."""
    chosen = [
        name for name, on in (("stdin", stdin), ("env", env is not None), ("random", random)) if on
    ]
    if len(chosen) > 1:
        raise InvalidInput(
            "give only one of --password-stdin, --password-env and --random-password"
        )
    if not chosen:
        if required:
            raise InvalidInput(
                "a password source is required: --password-stdin, --password-env NAME "
                "or --random-password"
            )
        return None
    if random:
        return Password(rt.password_hasher.generate(), "random", generated=True)
    if env is not None:
        if not _ENV_NAME.fullmatch(env):
            raise InvalidInput("--password-env takes the NAME of an environment variable")
        value = os.environ.get(env)
        if not value:
            raise InvalidInput(f"the environment variable {env} is not set or empty")
        return Password(value, f"env:{env}")
    return Password(_read_stdin(rt.settings.passwords.max_length), "stdin")


def _read_stdin(limit: int) -> str:
    if sys.stdin is None:
        raise InvalidInput("--password-stdin: there is no standard input")
    try:
        if sys.stdin.isatty():
            return _prompt_twice()
        data = sys.stdin.read(limit + 3)
    except UnicodeDecodeError:  # its message would quote the offending bytes of the password
        raise InvalidInput("the password on standard input is not valid UTF-8 text") from None
    if len(data) > limit + 2:
        raise InvalidInput(f"the password is longer than {limit} characters")
    # Only the line ending a pipe adds is dropped: other whitespace may be part of the password.
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    if not data:
        raise InvalidInput("there was no password on standard input")
    return data


def _prompt_twice() -> str:
    """At a terminal, as Django does: ask twice and compare, so a typo is not the password."""
    import getpass

    first = getpass.getpass("Password: ")
    if not first:
        raise InvalidInput("no password was typed")
    if getpass.getpass("Password (again): ") != first:
        raise InvalidInput("the two passwords typed do not match")
    return first


def shown_secret(rt: Runtime, value: str) -> str | None:
    """A generated secret as printed once: nothing under a dry run (it was never created)."""
    return None if rt.dry_run else value


def report_activation(
    rt: Runtime, *, changed: bool, active: bool, label: str, record: dict[str, Any]
) -> None:
    """The result of an activate/deactivate task, "unchanged" when there was nothing to do."""
    if changed:
        status = "activated" if active else "deactivated"
        text = f"{status}: {label}"
    else:
        status = "unchanged"
        text = f"unchanged: {label} is already {'active' if active else 'inactive'}"
    rt.out.result({"status": status, **record}, text=text)


def user_record(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": str(user.role),
        "active": user.is_active,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
    }


def account_record(account: ServiceAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "description": account.description,
        "active": account.is_active,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def require(value: str | None, flag: str) -> str:
    if value is None:
        raise InvalidInput(f"{flag} is required")
    return value
