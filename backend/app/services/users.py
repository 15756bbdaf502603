"""User use cases. Each public function is one transaction and writes its audit event in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.db import is_unique_violation
from backend.app.domain import (
    normalize_email,
    normalize_role,
    normalize_status,
    normalize_text,
)
from backend.app.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
)
from backend.app.models import ApiKey, User, utcnow
from backend.app.repositories import keys as keys_repo
from backend.app.repositories import users as repo
from backend.app.services import audit
from backend.app.services.context import Change, ServiceContext
from backend.app.services.guards import require_confirmation
from backend.app.services.passwords import HashedPassword, hash_password


@dataclass(frozen=True)
class SeedResult:
    user: User
    created: bool
    generated_password: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Deleted:
    user: User
    keys_deleted: int


async def create_user(
    ctx: ServiceContext,
    *,
    email: str,
    password: str | HashedPassword,
    role: str = "member",
    name: str | None = None,
    active: bool = True,
    if_not_exists: bool = False,
    details: Mapping[str, Any] | None = None,
) -> Change[User]:
    """Create a user; with ``if_not_exists`` an existing one is returned unchanged.

    ``password`` is plain text (checked and hashed here) or already a ``HashedPassword``.
    """
    email = normalize_email(email)
    role = normalize_role(role)
    name = normalize_text(name, what="--name", limit=200)
    if isinstance(password, str):
        ctx.passwords.check(password)
    if if_not_exists and (existing := await find_user(ctx, email=email)) is not None:
        return Change(existing, changed=False)
    # Hash outside the transaction: no lock is held during the deliberately slow part.
    hashed = await _hashed(ctx, password)
    user = User(email=email, name=name, role=role, is_active=active, password_hash=hashed.hash)
    try:
        async with ctx.db.transaction() as session:
            repo.add(session, user)
            await session.flush()
            audit.record(
                session,
                ctx,
                action="user.create",
                target_type="user",
                target_id=user.id,
                target=email,
                details={"role": role, "active": active, **(details or {})},
            )
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        if if_not_exists and (existing := await find_user(ctx, email=email)) is not None:
            return Change(existing, changed=False)
        raise AlreadyExists(f"user {email} already exists") from None
    return Change(user, changed=True)


async def find_user(ctx: ServiceContext, *, email: str) -> User | None:
    async with ctx.db.transaction(write=False) as session:
        return await repo.get_by_email(session, email=normalize_email(email))


async def get_user(ctx: ServiceContext, *, email: str) -> tuple[User, int]:
    """The user and how many live API keys it owns."""
    email = normalize_email(email)
    async with ctx.db.transaction(write=False) as session:
        user = await _require(session, email)
        return user, await keys_repo.count_live(session, now=utcnow(), user_id=user.id)


@asynccontextmanager
async def list_users(
    ctx: ServiceContext,
    *,
    role: str | None = None,
    status: str = "all",
    search: str | None = None,
    limit: int | None = None,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream users in id order; every status unless ``status`` says otherwise."""
    role = normalize_role(role) if role is not None else None
    status = normalize_status(status)
    if search is not None and (len(search) > 320 or not search.isprintable()):
        raise InvalidInput("--search must be at most 320 printable characters")
    active = None if status == "all" else status == "active"
    query = repo.list_query(role=role, active=active, search=search or None, limit=limit)
    async with ctx.stream(query) as rows:
        yield rows


async def set_password(
    ctx: ServiceContext, *, email: str, password: str | HashedPassword, source: str
) -> User:
    """Replace a user's password (plain text is checked and hashed here)."""
    email = normalize_email(email)
    if isinstance(password, str):
        ctx.passwords.check(password)
        async with ctx.db.transaction(write=False) as session:
            await _require(session, email)  # no hash spent on a user that is not there
    hashed = await _hashed(ctx, password)
    async with ctx.db.transaction() as session:
        user = await _require(session, email, for_update=True)
        user.password_hash = hashed.hash
        user.password_changed_at = utcnow()
        audit.record(
            session,
            ctx,
            action="user.set_password",
            target_type="user",
            target_id=user.id,
            target=user.email,
            details={"source": source},
        )
    return user


async def set_role(ctx: ServiceContext, *, email: str, role: str) -> Change[User]:
    email = normalize_email(email)
    role = normalize_role(role)
    async with ctx.db.transaction() as session:
        user = await _require(session, email, for_update=True)
        if user.role == role:
            return Change(user, changed=False)
        if user.role == "admin" and user.is_active:
            await _keep_an_admin(session, user, doing="demote")
        previous, user.role = user.role, role
        audit.record(
            session,
            ctx,
            action="user.set_role",
            target_type="user",
            target_id=user.id,
            target=user.email,
            details={"from": previous, "to": role},
        )
    return Change(user, changed=True)


async def set_active(ctx: ServiceContext, *, email: str, active: bool) -> Change[User]:
    """Activate or deactivate; a deactivated user's API keys stop verifying until reactivated."""
    email = normalize_email(email)
    async with ctx.db.transaction() as session:
        user = await _require(session, email, for_update=True)
        if user.is_active == active:
            return Change(user, changed=False)
        if not active and user.role == "admin":
            await _keep_an_admin(session, user, doing="deactivate")
        user.is_active = active
        audit.record(
            session,
            ctx,
            action="user.activate" if active else "user.deactivate",
            target_type="user",
            target_id=user.id,
            target=user.email,
        )
    return Change(user, changed=True)


async def delete_user(ctx: ServiceContext, *, email: str, confirmed: bool) -> Deleted:
    """Delete a user and its API keys, in one transaction (destructive: needs confirmation)."""
    email = normalize_email(email)
    require_confirmation(ctx.settings, confirmed=confirmed, action="users.delete")
    async with ctx.db.transaction() as session:
        user = await _require(session, email, for_update=True)
        if user.role == "admin" and user.is_active:
            await _keep_an_admin(session, user, doing="delete")
        removed = await session.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
        keys_deleted = int(getattr(removed, "rowcount", 0) or 0)
        await session.delete(user)
        audit.record(
            session,
            ctx,
            action="user.delete",
            target_type="user",
            target_id=user.id,
            target=user.email,
            details={"keys_deleted": keys_deleted},
        )
    return Deleted(user, keys_deleted)


async def seed_admin(
    ctx: ServiceContext,
    *,
    email: str | None = None,
    password: str | None = None,
    source: str | None = None,
) -> SeedResult:
    """Make sure the admin exists. An existing user is never changed, only reported on."""
    address = email or ctx.settings.admin_email
    if not address:
        raise InvalidInput("no admin email: pass --email or set APP_ADMIN_EMAIL")
    address = normalize_email(address)
    existing = await find_user(ctx, email=address)
    if existing is not None:
        return SeedResult(existing, created=False, warnings=_admin_warnings(existing))
    generated = None
    if password is None:
        if ctx.settings.admin_password is not None:
            password = ctx.settings.admin_password.get_secret_value()
            source = "APP_ADMIN_PASSWORD"
        else:
            password = generated = ctx.passwords.generate()
            source = "random"
    change = await create_user(
        ctx,
        email=address,
        password=password,
        role="admin",
        if_not_exists=True,
        details={"via": "users.seed-admin", "password_source": source},
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
        address: str | None = normalize_email(email)
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
    async with ctx.db.transaction() as session:
        # The verify ran outside any transaction: only the hash it checked may be trusted (and
        # upgraded), or a password reset during the login would bring the old password back.
        fresh = await repo.get_by_email(session, email=user.email, for_update=True)
        if fresh is None or fresh.password_hash != user.password_hash or not fresh.is_active:
            raise AuthenticationFailed(denied, reason="the user changed during the login")
        if new_hash is not None:
            fresh.password_hash = new_hash
        fresh.last_login_at = utcnow()
    return fresh


# -- helpers ---------------------------------------------------------------------------------------


async def _hashed(ctx: ServiceContext, password: str | HashedPassword) -> HashedPassword:
    if isinstance(password, HashedPassword):
        return password
    return await hash_password(ctx.passwords, password)


async def _require(session: AsyncSession, email: str, *, for_update: bool = False) -> User:
    user = await repo.get_by_email(session, email=email, for_update=for_update)
    if user is None:
        raise NotFound(f"no user {email}")
    return user


async def _keep_an_admin(session: AsyncSession, user: User, *, doing: str) -> None:
    if await repo.count_active_admins(session, excluding=user.id) == 0:
        raise Conflict(
            f"refusing to {doing} {user.email}: it is the last active admin "
            "(make another user an admin first)"
        )


def _admin_warnings(user: User) -> list[str]:
    problems = []
    if user.role != "admin":
        problems.append(f"{user.email} exists but is not an admin (role {user.role})")
    if not user.is_active:
        problems.append(f"{user.email} exists but is inactive")
    return problems
