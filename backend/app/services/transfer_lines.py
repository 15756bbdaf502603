"""The lines of an import (JSON Lines): every line read and checked before anything is written.

A bad line is refused with its number; a principal named twice is refused naming both lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from backend.app.domain import AccountName, Email, Role, parse_text
from backend.app.errors import InvalidInput

L = TypeVar("L", "UserLine", "AccountLine")
USER_FIELDS = {"email", "name", "role", "active", "created_at", "last_login_at", "password_hash"}
ACCOUNT_FIELDS = {"name", "description", "active", "created_at"}


@dataclass(frozen=True)
class UserLine:
    line: int
    email: Email
    name: str | None
    role: Role
    active: bool
    password_hash: str | None
    created_at: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class AccountLine:
    line: int
    name: AccountName
    description: str | None
    active: bool
    created_at: datetime | None


def parse_users(lines: Iterable[str]) -> list[UserLine]:
    """Every line checked before anything is written; the first bad one names its number."""

    def build(number: int, data: Mapping[str, Any]) -> UserLine:
        hashed = _text(data, "password_hash")
        if hashed is not None and not hashed.startswith("$argon2"):
            raise InvalidInput("password_hash is not an argon2 hash")
        return UserLine(
            line=number,
            email=Email.parse(_text(data, "email", required=True) or ""),
            name=parse_text(_text(data, "name"), field="name", limit=200),
            role=Role(_choice(data, "role", {r.value for r in Role}, "member")),
            active=_flag(data, "active"),
            password_hash=hashed,
            created_at=_instant(data, "created_at"),
            last_login_at=_instant(data, "last_login_at"),
        )

    return _parse(lines, USER_FIELDS, build, key=lambda entry: entry.email)


def parse_accounts(lines: Iterable[str]) -> list[AccountLine]:
    def build(number: int, data: Mapping[str, Any]) -> AccountLine:
        return AccountLine(
            line=number,
            name=AccountName.parse(_text(data, "name", required=True) or ""),
            description=parse_text(_text(data, "description"), field="description", limit=500),
            active=_flag(data, "active"),
            created_at=_instant(data, "created_at"),
        )

    return _parse(lines, ACCOUNT_FIELDS, build, key=lambda entry: entry.name)


def _parse(
    lines: Iterable[str],
    allowed: set[str],
    build: Callable[[int, Mapping[str, Any]], L],
    *,
    key: Callable[[L], str],
) -> list[L]:
    parsed: dict[str, L] = {}
    for number, data in _objects(lines, allowed):
        try:
            entry = build(number, data)
        except InvalidInput as error:
            raise InvalidInput(f"line {number}: {error}") from None
        if (earlier := parsed.get(key(entry))) is not None:
            raise InvalidInput(f"line {number}: {key(entry)} is also on line {earlier.line}")
        parsed[key(entry)] = entry
    return list(parsed.values())


def _objects(lines: Iterable[str], allowed: set[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInput(f"line {number}: not a JSON object") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"line {number}: not a JSON object")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InvalidInput(f"line {number}: unknown field {unknown[0]!r}")
        yield number, data


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text")
    return value


def _choice(data: Mapping[str, Any], key: str, choices: set[str], default: str) -> str:
    value = _text(data, key) or default
    if value not in choices:
        raise InvalidInput(f"{key} must be one of {', '.join(sorted(choices))}")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, True)
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} must be true or false")
    return value


def _instant(data: Mapping[str, Any], key: str) -> datetime | None:
    from backend.app.core.durations import parse_instant

    text = _text(data, key)
    return None if text is None else parse_instant(text, field=key)
