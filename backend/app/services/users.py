"""User use cases. Each public function is one unit of work and writes its audit event in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.app.domain import Email, Role, StatusFilter, parse_text
from backend.app.errors import AlreadyExists, AuthenticationFailed, InvalidInput, NotFound
from backend.app.models import User, utcnow
from backend.app.repositories import users as users_repo
from backend.app.services import principals
from backend.app.services.context import Change, ServiceContext
from backend.app.services.passwords import HashedPassword, hash_password
from backend.app.services.uow import uow

MAX_NAME = 200
MAX_SEARCH = 320


@dataclass(frozen=True)
class SeedResult:
    user: User
    created: bool
    generated_password: str | None = None
    warnings: list[str] = field(default_factory=list)


async def create_user(
    ctx: ServiceContext,
    *,
    email: Email,
    password: str | HashedPassword,
    role: Role = Role.MEMBER,
    name: str | None = None,
    active: bool = True,
    if_not_exists: bool = False,
    details: Mapping[str, Any] | None = None,
) -> Change[User]:
    """Create a user; with ``if_not_exists`` an existing one is returned unchanged.

    ``password`` is plain text (checked, then hashed after every cheaper check) or already a
    ``HashedPassword``. The hash is computed outside the transaction: no lock is held during
    the deliberately slow part.
    """
    name = parse_text(name, field="name", limit=MAX_NAME)
    if isinstance(password, str):
        ctx.passwords.check(password)
        if if_not_exists and (existing := await find_user(ctx, email=email)) is not None:
            return Change(existing, changed=False)
        password = await hash_password(ctx.passwords, password)
    user = User(email=email, name=name, role=role, is_active=active, password_hash=password.hash)
    try:
        async with uow(ctx) as u:
            if await u.users.get_by_email(email) is None:
                u.users.add(user)
                await u.flush()
                u.record(
                    "user.create", user, {"role": role.value, "active": active, **(details or {})}
                )
                return Change(user, changed=True)
    except AlreadyExists:
        pass  # created by another command between the check and the insert
    if if_not_exists and (existing := await find_user(ctx, email=email)) is not None:
        return Change(existing, changed=False)
    raise AlreadyExists(f"user {email} already exists")


async def find_user(ctx: ServiceContext, *, email: Email) -> User | None:
    async with uow(ctx, write=False) as u:
        return await u.users.get_by_email(email)


@asynccontextmanager
async def list_users(
    ctx: ServiceContext,
    *,
    role: Role | None = None,
    status: StatusFilter = StatusFilter.ALL,
    search: str | None = None,
    no_login_since: datetime | None = None,
    limit: int | None = None,
    times_as_text: bool = False,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream users in id order; every status unless ``status`` says otherwise. With
    ``times_as_text`` the timestamps are ISO 8601 UTC text, formatted by the database."""
    if search is not None and (len(search) > MAX_SEARCH or not search.isprintable()):
        raise InvalidInput(
            f"{{field}} must be at most {MAX_SEARCH} printable characters", field="search"
        )
    active = None if status is StatusFilter.ALL else status is StatusFilter.ACTIVE
    query = users_repo.list_query(
        role=role,
        active=active,
        search=search or None,
        no_login_since=no_login_since,
        limit=limit,
        times_as_text=times_as_text,
    )
    async with uow(ctx, write=False) as u:
        yield u.stream(query)


async def set_password(
    ctx: ServiceContext, *, email: Email, password: str | HashedPassword, source: str
) -> User:
    """Replace a user's password. ``source`` says where it came from (never the password)."""
    if isinstance(password, str):
        ctx.passwords.check(password)
        if await find_user(ctx, email=email) is None:  # no hash spent on a missing user
            raise NotFound(f"no user {email}")
        password = await hash_password(ctx.passwords, password)
    async with uow(ctx) as u:
        user = await _require(u.users, email)
        user.password_hash = password.hash
        user.password_changed_at = utcnow()
        u.record("user.set_password", user, {"source": source})
    return user


async def set_role(ctx: ServiceContext, *, email: Email, role: Role) -> Change[User]:
    async with uow(ctx) as u:
        user = await _require(u.users, email)
        if user.role == role:
            return Change(user, changed=False)
        await principals.keep_an_admin(u, user, doing="demote")
        previous, user.role = user.role, role
        u.record("user.set_role", user, {"from": previous, "to": role.value})
    return Change(user, changed=True)


async def seed_admin(
    ctx: ServiceContext,
    *,
    email: Email | None = None,
    password: str | HashedPassword | None = None,
    source: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> SeedResult:
    """Make sure the admin exists. An existing user is never changed, only reported on.

    Without a password, ``admin_password`` from the settings is used, else one is generated
    (and returned once, in ``generated_password``).
    """
    if email is None:
        if not ctx.settings.admin_email:
            raise InvalidInput(
                "no admin email: give {field}, or set admin_email (APP_ADMIN_EMAIL)", field="email"
            )
        email = Email.parse(ctx.settings.admin_email)
    existing = await find_user(ctx, email=email)
    if existing is not None:
        return SeedResult(existing, created=False, warnings=_admin_warnings(existing))
    generated = None
    if password is None:
        if ctx.settings.admin_password is not None:
            password, source = ctx.settings.admin_password.get_secret_value(), "APP_ADMIN_PASSWORD"
        else:
            password = generated = ctx.passwords.generate()
            source = "random"
    change = await create_user(
        ctx,
        email=email,
        password=password,
        role=Role.ADMIN,
        if_not_exists=True,
        details={**(details or {}), "password_source": source},
    )
    if not change.changed:  # another process created it a moment ago
        return SeedResult(change.value, created=False, warnings=_admin_warnings(change.value))
    return SeedResult(change.value, created=True, generated_password=generated)


async def authenticate_user(ctx: ServiceContext, *, email: str, password: str) -> User:
    """The active user with this email and password, upgrading a weaker stored hash.

    Every failure raises the same AuthenticationFailed message and costs one hash, so a caller
    cannot learn which emails exist; ``reason`` tells operators what actually failed.
    """
    try:
        address: Email | None = Email.parse(email)
    except InvalidInput:
        address = None
    user = await find_user(ctx, email=address) if address else None
    ok, new_hash = await asyncio.to_thread(
        ctx.passwords.verify, password, user.password_hash if user else None
    )
    denied = "invalid email or password"
    if user is None:
        raise AuthenticationFailed(denied, reason="unknown email")
    if not ok:
        raise AuthenticationFailed(denied, reason="wrong password")
    if not user.is_active:
        raise AuthenticationFailed(denied, reason="user is inactive")
    async with uow(ctx) as u:
        # The verify ran outside any transaction: only the hash it checked may be trusted (and
        # upgraded), or a password reset during the login would bring the old password back.
        fresh = await u.users.get_by_email(Email(user.email), for_update=True)
        if fresh is None or fresh.password_hash != user.password_hash or not fresh.is_active:
            raise AuthenticationFailed(denied, reason="the user changed during the login")
        if new_hash is not None:
            fresh.password_hash = new_hash
        fresh.last_login_at = utcnow()
    return fresh


async def _require(users: users_repo.UserRepository, email: Email) -> User:
    user = await users.get_by_email(email, for_update=True)
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def _admin_warnings(user: User) -> list[str]:
    problems = []
    if user.role != Role.ADMIN:
        problems.append(f"{user.email} exists but is not an admin (role {user.role})")
    if not user.is_active:
        problems.append(f"{user.email} exists but is inactive")
    return problems
