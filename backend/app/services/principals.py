"""What users and service accounts share as owners of API keys: finding one, activating and
deactivating it, deleting it with its keys, counting its live keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from backend.app.core.guards import require_confirmation
from backend.app.domain import AccountName, Email, OwnerKind, Role
from backend.app.errors import Conflict, NotFound
from backend.app.models import ServiceAccount, User, utcnow
from backend.app.services.context import Change, ServiceContext
from backend.app.services.uow import UnitOfWork, uow

Principal = User | ServiceAccount
PrincipalName = Email | AccountName
P = TypeVar("P", User, ServiceAccount)


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: int
    name: str
    active: bool

    @property
    def subject(self) -> str:
        """How audit events name it (``user:bob@example.com``, ``account:ci``)."""
        return f"{self.kind}:{self.name}"

    @classmethod
    def of(cls, principal: Principal) -> Owner:
        if isinstance(principal, User):
            return cls(OwnerKind.USER, principal.id, principal.email, principal.is_active)
        return cls(OwnerKind.ACCOUNT, principal.id, principal.name, principal.is_active)


@dataclass(frozen=True)
class Deleted(Generic[P]):
    principal: P
    keys_deleted: int


def kind_of(name: PrincipalName) -> OwnerKind:
    return OwnerKind.USER if isinstance(name, Email) else OwnerKind.ACCOUNT


def describe(name: PrincipalName) -> str:
    return f"user {name}" if isinstance(name, Email) else f"service account {name}"


async def require(u: UnitOfWork, name: PrincipalName, *, for_update: bool = False) -> Principal:
    found: Principal | None
    if isinstance(name, Email):
        found = await u.users.get_by_email(name, for_update=for_update)
    else:
        found = await u.accounts.get_by_name(name, for_update=for_update)
    if found is None:
        raise NotFound(f"no {describe(name)}")
    return found


async def owner_by_id(u: UnitOfWork, kind: OwnerKind, owner_id: int) -> Owner:
    found: Principal | None
    if kind is OwnerKind.USER:
        found = await u.users.get(owner_id)
    else:
        found = await u.accounts.get(owner_id)
    if found is None:  # the foreign key guarantees it, unless deleted in this transaction
        raise NotFound(f"the owner of this key ({kind} {owner_id}) no longer exists")
    return Owner.of(found)


@overload
async def get_with_live_keys(ctx: ServiceContext, name: Email) -> tuple[User, int]: ...
@overload
async def get_with_live_keys(
    ctx: ServiceContext, name: AccountName
) -> tuple[ServiceAccount, int]: ...
async def get_with_live_keys(ctx: ServiceContext, name: PrincipalName) -> tuple[Principal, int]:
    """The principal and how many live API keys it owns."""
    async with uow(ctx, write=False) as u:
        principal = await require(u, name)
        count = await u.keys.count_live(kind=kind_of(name), owner_id=principal.id, now=utcnow())
    return principal, count


@overload
async def set_active(ctx: ServiceContext, name: Email, *, active: bool) -> Change[User]: ...
@overload
async def set_active(
    ctx: ServiceContext, name: AccountName, *, active: bool
) -> Change[ServiceAccount]: ...
async def set_active(ctx: ServiceContext, name: PrincipalName, *, active: bool) -> Change[Any]:
    """Activate or deactivate; a deactivated owner's API keys stop verifying until reactivated."""
    prefix = "user" if isinstance(name, Email) else "account"
    async with uow(ctx) as u:
        principal = await require(u, name, for_update=True)
        if principal.is_active == active:
            return Change(principal, changed=False)
        if not active:
            await keep_an_admin(u, principal, doing="deactivate")
        principal.is_active = active
        u.record(f"{prefix}.{'activate' if active else 'deactivate'}", principal)
    return Change(principal, changed=True)


@overload
async def delete(ctx: ServiceContext, name: Email, *, confirmed: bool) -> Deleted[User]: ...
@overload
async def delete(
    ctx: ServiceContext, name: AccountName, *, confirmed: bool
) -> Deleted[ServiceAccount]: ...
async def delete(ctx: ServiceContext, name: PrincipalName, *, confirmed: bool) -> Deleted[Any]:
    """Delete a principal and its API keys, in one transaction (destructive: guarded)."""
    require_confirmation(
        ctx.settings, confirmed=confirmed, what=f"deleting {describe(name)} and its API keys"
    )
    async with uow(ctx) as u:
        principal = await require(u, name, for_update=True)
        await keep_an_admin(u, principal, doing="delete")
        keys_deleted = await u.keys.delete_owned_by(kind=kind_of(name), owner_id=principal.id)
        if isinstance(principal, User):
            await u.users.delete(principal)
        else:
            await u.accounts.delete(principal)
        prefix = "user" if isinstance(name, Email) else "account"
        u.record(f"{prefix}.delete", principal, {"keys_deleted": keys_deleted})
    return Deleted(principal, keys_deleted)


async def keep_an_admin(u: UnitOfWork, principal: Principal, *, doing: str) -> None:
    """The last active admin cannot be demoted, deactivated or deleted."""
    if not isinstance(principal, User) or principal.role != Role.ADMIN or not principal.is_active:
        return
    if await u.users.count_active_admins(excluding=principal.id) == 0:
        raise Conflict(
            f"refusing to {doing} {principal.email}: it is the last active admin "
            "(make another user an admin first)"
        )
