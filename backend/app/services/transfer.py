"""Moving users and service accounts between databases: export to and import from JSON Lines.

An export holds every field needed to recreate a principal, a password hash only when asked,
never an API key. An import validates every line before it changes anything, then creates the
missing principals and updates role, name, description and active state of the others, in one
unit of work with one audit event per change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from backend.app.domain import AccountName, Email
from backend.app.models import ServiceAccount, User, utcnow
from backend.app.repositories import accounts as accounts_repo
from backend.app.repositories import users as users_repo
from backend.app.services import principals
from backend.app.services.context import ServiceContext
from backend.app.services.transfer_lines import (
    AccountLine,
    L,
    UserLine,
    parse_accounts,
    parse_users,
)
from backend.app.services.uow import UnitOfWork, uow

__all__ = ["AccountLine", "Imported", "Planned", "UserLine", "parse_accounts", "parse_users"]

# Stored for an imported user without a hash: no password verifies against it (not a hash
# passlib knows) until one is set.
NO_PASSWORD = "!imported-without-a-password"  # noqa: S105 (a marker, not a password)
# Lines looked up and created per round trip: a few hundred keep SQLite's parameter limit far.
IMPORT_BATCH = 500
P = TypeVar("P", User, ServiceAccount)


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


async def import_users(ctx: ServiceContext, entries: list[UserLine]) -> Imported:
    rows: list[Planned] = []
    without = 0

    def values(entry: UserLine, now: datetime) -> dict[str, Any]:
        return {
            "email": entry.email,
            "name": entry.name,
            "role": entry.role.value,
            "is_active": entry.active,
            "password_hash": entry.password_hash or NO_PASSWORD,
            "last_login_at": entry.last_login_at,
            "created_at": entry.created_at or now,
        }

    async with uow(ctx) as u:
        for batch in _batches(entries):
            found, made = await _found_and_made(
                batch, _email, u.users.get_many_by_email, u.users.insert_many, values
            )
            events = []
            for entry in batch:  # in the file's order: one event per change
                user = made.get(entry.email)
                if user is not None:
                    without += entry.password_hash is None
                    password = "hash" if entry.password_hash else "none"
                    details = {"via": "import", "password": password}
                    events.append(u.event_for("user.create", user, details))
                    rows.append(Planned(entry.line, entry.email, "create"))
                    continue
                wanted = {"name": entry.name, "role": entry.role.value, "active": entry.active}
                planned = await _update(u, found[entry.email], entry, wanted, "user.update")
                rows.append(planned.row)
                events += planned.events
            await u.record_many(events)
    return Imported(rows, without)


async def import_accounts(ctx: ServiceContext, entries: list[AccountLine]) -> Imported:
    rows: list[Planned] = []

    def values(entry: AccountLine, now: datetime) -> dict[str, Any]:
        return {
            "name": entry.name,
            "description": entry.description,
            "is_active": entry.active,
            "created_at": entry.created_at or now,
        }

    async with uow(ctx) as u:
        for batch in _batches(entries):
            found, made = await _found_and_made(
                batch, _name, u.accounts.get_many_by_name, u.accounts.insert_many, values
            )
            events = []
            for entry in batch:
                account = made.get(entry.name)
                if account is not None:
                    events.append(u.event_for("account.create", account, {"via": "import"}))
                    rows.append(Planned(entry.line, entry.name, "create"))
                    continue
                wanted = {"description": entry.description, "active": entry.active}
                planned = await _update(u, found[entry.name], entry, wanted, "account.update")
                rows.append(planned.row)
                events += planned.events
            await u.record_many(events)
    return Imported(rows)


async def _found_and_made(
    batch: list[L],
    key: Callable[[L], Any],
    get_many: Callable[..., Awaitable[dict[str, P]]],
    insert_many: Callable[[list[dict[str, Any]]], Awaitable[None]],
    values: Callable[[L, datetime], dict[str, Any]],
) -> tuple[dict[str, P], dict[str, P]]:
    """The batch's principals that exist (locked), and those it inserts, loaded: by key."""
    found = await get_many([key(entry) for entry in batch], for_update=True)
    missing = [entry for entry in batch if key(entry) not in found]
    now = utcnow()
    await insert_many([values(entry, now) for entry in missing])
    return found, await get_many([key(entry) for entry in missing])


def _email(entry: UserLine) -> Email:
    return entry.email


def _name(entry: AccountLine) -> AccountName:
    return entry.name


def _batches(entries: list[L]) -> Iterable[list[L]]:
    """Lines a few hundred at a time: one lookup, one multi-row INSERT and one for the events
    each (the ORM would write each new row, and each event, with a statement of its own)."""
    for start in range(0, len(entries), IMPORT_BATCH):
        yield entries[start : start + IMPORT_BATCH]


@dataclass(frozen=True)
class _Update:
    row: Planned
    events: list[dict[str, Any]]


async def _update(
    u: UnitOfWork,
    target: User | ServiceAccount,
    entry: UserLine | AccountLine,
    wanted: Mapping[str, Any],
    action: str,
) -> _Update:
    name = entry.email if isinstance(entry, UserLine) else entry.name
    current = {
        "name": getattr(target, "name", None),
        "description": getattr(target, "description", None),
        "role": str(getattr(target, "role", "")),
        "active": target.is_active,
    }
    changes = {key: [current[key], value] for key, value in wanted.items() if current[key] != value}
    if not changes:
        return _Update(Planned(entry.line, name, "unchanged"), [])
    if "role" in changes or changes.get("active") == [True, False]:
        await principals.keep_an_admin(u, target, doing="demote or deactivate")
    for key, (_old, new) in changes.items():
        setattr(target, "is_active" if key == "active" else key, new)
    event = u.event_for(action, target, {"via": "import", "changes": changes})
    return _Update(Planned(entry.line, name, "update", changes), [event])
