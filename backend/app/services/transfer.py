"""Moving users and service accounts between databases: export to and import from JSON Lines.

An export holds every field needed to recreate a principal, a password hash only when asked,
never an API key. An import validates every line before it changes anything, then creates the
missing principals and updates role, name, description and active state of the others, in one
unit of work with one audit event per change.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from backend.app.domain import AccountName, Email, Role, parse_text
from backend.app.errors import InvalidInput
from backend.app.models import ServiceAccount, User
from backend.app.repositories import accounts as accounts_repo
from backend.app.repositories import users as users_repo
from backend.app.services import principals
from backend.app.services.context import ServiceContext
from backend.app.services.uow import UnitOfWork, uow

# Stored for an imported user without a hash: no password verifies against it (not a hash
# passlib knows) until one is set.
NO_PASSWORD = "!imported-without-a-password"  # noqa: S105 (a marker, not a password)
L = TypeVar("L", "UserLine", "AccountLine")
USER_FIELDS = {"email", "name", "role", "active", "created_at", "last_login_at", "password_hash"}
ACCOUNT_FIELDS = {"name", "description", "active", "created_at"}


@dataclass(frozen=True)
class Planned:
    """One line of an import: what it names, and what importing it does."""

    line: int
    name: str
    action: str  # "create", "update" or "unchanged"
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True)
class Imported:
    rows: list[Planned]
    without_password: int = 0

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


@asynccontextmanager
async def export_users(
    ctx: ServiceContext, *, with_password_hashes: bool
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    async with uow(ctx, write=False) as u:
        rows = u.stream(users_repo.export_query(with_password_hashes=with_password_hashes))

        async def lines() -> AsyncIterator[dict[str, Any]]:
            async for row in rows:
                yield dict(row)

        yield lines()


@asynccontextmanager
async def export_accounts(ctx: ServiceContext) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    async with uow(ctx, write=False) as u:
        rows = u.stream(accounts_repo.export_query())

        async def lines() -> AsyncIterator[dict[str, Any]]:
            async for row in rows:
                yield dict(row)

        yield lines()


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


async def import_users(ctx: ServiceContext, entries: list[UserLine]) -> Imported:
    rows: list[Planned] = []
    without = 0
    async with uow(ctx) as u:
        for entry in entries:
            user = await u.users.get_by_email(entry.email, for_update=True)
            if user is None:
                user = User(
                    email=entry.email,
                    name=entry.name,
                    role=entry.role,
                    is_active=entry.active,
                    password_hash=entry.password_hash or NO_PASSWORD,
                    last_login_at=entry.last_login_at,
                )
                if entry.created_at is not None:
                    user.created_at = entry.created_at
                u.users.add(user)
                await u.flush()
                without += entry.password_hash is None
                password = "hash" if entry.password_hash else "none"
                u.record("user.create", user, {"via": "import", "password": password})
                rows.append(Planned(entry.line, entry.email, "create"))
                continue
            wanted = {"name": entry.name, "role": entry.role.value, "active": entry.active}
            rows.append(await _update(u, user, entry.line, entry.email, wanted, "user.update"))
    return Imported(rows, without)


async def import_accounts(ctx: ServiceContext, entries: list[AccountLine]) -> Imported:
    rows: list[Planned] = []
    async with uow(ctx) as u:
        for entry in entries:
            account = await u.accounts.get_by_name(entry.name, for_update=True)
            if account is None:
                account = ServiceAccount(
                    name=entry.name, description=entry.description, is_active=entry.active
                )
                if entry.created_at is not None:
                    account.created_at = entry.created_at
                u.accounts.add(account)
                await u.flush()
                u.record("account.create", account, {"via": "import"})
                rows.append(Planned(entry.line, entry.name, "create"))
                continue
            wanted = {"description": entry.description, "active": entry.active}
            rows.append(await _update(u, account, entry.line, entry.name, wanted, "account.update"))
    return Imported(rows)


async def _update(
    u: UnitOfWork,
    target: User | ServiceAccount,
    line: int,
    name: str,
    wanted: Mapping[str, Any],
    action: str,
) -> Planned:
    current = {
        "name": getattr(target, "name", None),
        "description": getattr(target, "description", None),
        "role": str(getattr(target, "role", "")),
        "active": target.is_active,
    }
    changes = {key: [current[key], value] for key, value in wanted.items() if current[key] != value}
    if not changes:
        return Planned(line, name, "unchanged")
    if "role" in changes or changes.get("active") == [True, False]:
        await principals.keep_an_admin(u, target, doing="demote or deactivate")
    for key, (_old, new) in changes.items():
        setattr(target, "is_active" if key == "active" else key, new)
    u.record(action, target, {"via": "import", "changes": changes})
    return Planned(line, name, "update", changes)


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
