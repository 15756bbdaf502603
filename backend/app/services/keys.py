"""API key use cases: issue, list, show and rotate (revoking and pruning: services.revocation).

A raw key exists in exactly one place for one moment: generated here, returned once in an
``IssuedKey`` for the caller to show, never stored, logged or audited. The database holds its
digest and a short display prefix. Checking keys (``authenticate``, ``inspect``) lives in
``services.authn``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.app.core.durations import MAX_DURATION, format_duration
from backend.app.core.keys import digest, display_prefix, generate_key
from backend.app.domain import KeyStatus, OwnerKind, parse_text
from backend.app.errors import Conflict, InvalidInput, NotFound
from backend.app.models import ApiKey, utcnow
from backend.app.repositories import keys as keys_repo
from backend.app.services import principals
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner, PrincipalName
from backend.app.services.uow import UnitOfWork, uow

MAX_NAME = 200


class Default:
    """The default lifetime for the owner's kind (``api_keys.*_default_expiry``)."""


DEFAULT_EXPIRY = Default()


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key. ``raw`` is shown to the caller once and then dropped."""

    key: ApiKey
    owner: Owner
    raw: str

    def __repr__(self) -> str:
        return f"IssuedKey(id={self.key.id}, display_prefix={self.key.display_prefix!r})"


@dataclass(frozen=True)
class KeyDetails:
    key: ApiKey
    owner: Owner
    status: KeyStatus
    replaced_by: int | None


@dataclass(frozen=True)
class Rotation:
    old: ApiKey
    new: IssuedKey


def key_status(
    *, now: datetime, revoked_at: datetime | None, expires_at: datetime | None, owner_active: bool
) -> KeyStatus:
    if revoked_at is not None:
        return KeyStatus.REVOKED
    if expires_at is not None and expires_at <= now:
        return KeyStatus.EXPIRED
    if not owner_active:
        return KeyStatus.OWNER_INACTIVE
    return KeyStatus.ACTIVE


def resolve_expiry(
    ctx: ServiceContext, *, kind: OwnerKind, now: datetime, expires: datetime | Default | None
) -> datetime | None:
    """The expiry to store: the one given (in the future, within 100 years), none, or the
    default lifetime for this kind of owner."""
    if isinstance(expires, Default):
        policy = ctx.settings.api_keys
        default = (
            policy.user_default_expiry if kind is OwnerKind.USER else policy.account_default_expiry
        )
        return None if default is None else now + default
    if expires is not None:
        if expires <= now:
            raise InvalidInput("{field} must be in the future", field="expires_at")
        if expires - now > MAX_DURATION:
            raise InvalidInput("{field} must be within 100 years", field="expires_at")
    return expires


async def create_key(
    ctx: ServiceContext,
    *,
    owner: PrincipalName,
    name: str | None = None,
    scopes: tuple[str, ...] = (),
    expires: datetime | Default | None = DEFAULT_EXPIRY,
) -> IssuedKey:
    """Issue a key to ``owner``. The raw key is in the result and nowhere else."""
    clean_name = parse_text(name, field="name", limit=MAX_NAME)
    now = utcnow()
    expiry = resolve_expiry(ctx, kind=principals.kind_of(owner), now=now, expires=expires)
    async with uow(ctx) as u:
        holder = Owner.of(await principals.require(u, owner))
        if not holder.active:
            raise Conflict(f"{principals.describe(owner)} is inactive: activate it first")
        issued = await _issue(
            u, ctx, owner=holder, name=clean_name, scopes=scopes, expires_at=expiry, now=now
        )
        u.record("key.create", issued.key, _audit_details(issued), subject=holder.subject)
    return issued


async def _issue(
    u: UnitOfWork,
    ctx: ServiceContext,
    *,
    owner: Owner,
    name: str | None,
    scopes: tuple[str, ...],
    expires_at: datetime | None,
    now: datetime,
    rotated_from: int | None = None,
) -> IssuedKey:
    raw = generate_key(ctx.settings.api_keys.prefix)
    key = ApiKey(
        user_id=owner.id if owner.kind is OwnerKind.USER else None,
        service_account_id=owner.id if owner.kind is OwnerKind.ACCOUNT else None,
        name=name,
        digest=digest(raw, ctx.pepper),
        display_prefix=display_prefix(raw),
        scopes=list(scopes),
        created_at=now,
        expires_at=expires_at,
        rotated_from_id=rotated_from,
    )
    u.keys.add(key)
    await u.flush()
    return IssuedKey(key=key, owner=owner, raw=raw)


def _audit_details(issued: IssuedKey) -> dict[str, Any]:
    key = issued.key
    return {
        "owner": f"{issued.owner.kind}:{issued.owner.name}",
        "name": key.name,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at.isoformat(timespec="seconds") if key.expires_at else None,
    }


async def get_key(ctx: ServiceContext, *, key_id: int) -> KeyDetails:
    async with uow(ctx, write=False) as u:
        key = await _require(u, key_id)
        owner = await owner_of(u, key)
        successor = await u.keys.get_successor(key.id)
    status = key_status(
        now=utcnow(),
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
        owner_active=owner.active,
    )
    return KeyDetails(key=key, owner=owner, status=status, replaced_by=successor)


@asynccontextmanager
async def list_keys(
    ctx: ServiceContext,
    *,
    owner: PrincipalName | None = None,
    include_all: bool = False,
    unused_since: datetime | None = None,
    expiring_before: datetime | None = None,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream keys in id order; revoked and expired ones only with ``include_all``. The stale
    reports: keys unused since a moment, live keys expiring before one."""
    now = utcnow()
    async with uow(ctx, write=False) as u:
        scope = None
        if owner is not None:
            scope = (principals.kind_of(owner), (await principals.require(u, owner)).id)
        query = keys_repo.list_query(
            now=now,
            owner=scope,
            include_all=include_all,
            unused_since=unused_since,
            expiring_before=expiring_before,
        )
        rows = u.stream(query)

        async def with_status() -> AsyncIterator[Mapping[str, Any]]:
            async for row in rows:
                active = bool(row["owner_active"])
                status = key_status(
                    now=now,
                    revoked_at=row["revoked_at"],
                    expires_at=row["expires_at"],
                    owner_active=active,
                )
                yield {**row, "owner_active": active, "status": status.value}

        yield with_status()


async def rotate_key(
    ctx: ServiceContext, *, key_id: int, grace: timedelta | None = None
) -> Rotation:
    """Issue a replacement (same owner, name, scopes and lifetime); the old key stops working
    at once, or when ``grace`` has passed (never later than it would have expired anyway)."""
    now = utcnow()
    async with uow(ctx) as u:
        old = await _require(u, key_id, for_update=True)
        owner = await owner_of(u, old)
        status = key_status(
            now=now, revoked_at=old.revoked_at, expires_at=old.expires_at, owner_active=owner.active
        )
        if status is not KeyStatus.ACTIVE:
            raise Conflict(f"key {old.id} cannot be rotated: it is {status}")
        if (successor := await u.keys.get_successor(old.id)) is not None:
            raise Conflict(f"key {old.id} was already rotated (replaced by key {successor})")
        lifetime = old.expires_at - old.created_at if old.expires_at else None
        new = await _issue(
            u,
            ctx,
            owner=owner,
            name=old.name,
            scopes=tuple(old.scopes),
            expires_at=now + lifetime if lifetime else None,
            now=now,
            rotated_from=old.id,
        )
        if grace:
            ends = now + grace
            old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
        else:
            old.revoked_at = now
        u.record(
            "key.rotate",
            old,
            {
                "new_key_id": new.key.id,
                "new_key": new.key.display_prefix,
                "grace": format_duration(grace) if grace else None,
                "old_key_ends": (old.revoked_at or old.expires_at or now).isoformat(
                    timespec="seconds"
                ),
            },
            subject=owner.subject,
        )
    return Rotation(old=old, new=new)


async def _require(u: UnitOfWork, key_id: int, *, for_update: bool = False) -> ApiKey:
    key = await u.keys.get(key_id, for_update=for_update)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    return key


async def owner_of(u: UnitOfWork, key: ApiKey) -> Owner:
    """Who owns ``key`` now."""
    if key.user_id is not None:
        return await principals.owner_by_id(u, OwnerKind.USER, key.user_id)
    assert key.service_account_id is not None
    return await principals.owner_by_id(u, OwnerKind.ACCOUNT, key.service_account_id)
