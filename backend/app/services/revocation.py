"""Taking credentials and history away: revoking keys (by id, by the raw key, or every live key
of an owner), and pruning dead keys and old audit events.

Revoking named keys is one unit of work. Revoking all of an owner's keys and pruning go in
batches, each its own unit of work, so SQLite's write lock is never held long enough for another
writer to hit the busy timeout; a run that stops halfway leaves a state that is true on its own
(the oldest part done, and recorded).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.app.core.guards import require_confirmation, require_unprotected
from backend.app.core.keys import digest, parse_key
from backend.app.errors import NotFound
from backend.app.models import utcnow
from backend.app.repositories.audit import PRUNE_ACTION
from backend.app.services import principals
from backend.app.services.context import ServiceContext
from backend.app.services.keys import owner_of
from backend.app.services.principals import Owner, PrincipalName
from backend.app.services.uow import UnitOfWork, uow

BATCH = 5_000


@dataclass(frozen=True)
class Revoked:
    """One key a revocation was about; ``changed`` is False when it already was revoked."""

    key_id: int
    display_prefix: str
    owner: Owner
    changed: bool
    revoked_at: datetime | None


async def key_id_of(ctx: ServiceContext, raw_key: str) -> int:
    """The id of the key whose raw text this is: checksum first, then the digest lookup."""
    wanted = digest(parse_key(raw_key).value, ctx.pepper)
    async with uow(ctx, write=False) as u:
        key = await u.keys.get_by_digest(wanted)
    if key is None:
        raise NotFound("no API key matches the key given")
    return key.id


async def revoke_keys(ctx: ServiceContext, *, key_ids: Sequence[int]) -> list[Revoked]:
    """Revoke these keys at once, in one unit of work; "unchanged" for those already revoked."""
    now = utcnow()
    done: list[Revoked] = []
    async with uow(ctx) as u:
        for key_id in dict.fromkeys(key_ids):  # each once, in the order given
            key = await u.keys.get(key_id, for_update=True)
            if key is None:
                raise NotFound(f"no API key with id {key_id}")
            owner = await owner_of(u, key)
            changed = key.revoked_at is None
            if changed:
                key.revoked_at = now
                u.record("key.revoke", key, subject=owner.subject)
            done.append(Revoked(key.id, key.display_prefix, owner, changed, key.revoked_at))
    return done


async def revoke_owned(
    ctx: ServiceContext, owner: PrincipalName, *, confirmed: bool, batch: int = BATCH
) -> list[Revoked]:
    """Revoke every live key of ``owner`` (a person leaving, a compromised service)."""
    what = f"revoking every API key of {principals.describe(owner)}"
    require_confirmation(ctx.settings, confirmed=confirmed, what=what)
    done: list[Revoked] = []
    while True:
        now = utcnow()
        async with uow(ctx) as u:
            holder = Owner.of(await principals.require(u, owner))
            rows = await u.keys.revoke_live_owned_by(
                kind=holder.kind, owner_id=holder.id, now=now, batch=batch
            )
            await u.audit.add_many(
                [
                    _revoke_event(ctx, key_id=key_id, prefix=prefix, subject=holder.subject, at=now)
                    for key_id, prefix in rows
                ]
            )
        done += [Revoked(key_id, prefix, holder, True, now) for key_id, prefix in rows]
        if len(rows) < batch:
            return done


def _revoke_event(
    ctx: ServiceContext, *, key_id: int, prefix: str, subject: str, at: datetime
) -> dict[str, object]:
    return {
        "occurred_at": at,
        "actor": ctx.actor,
        "action": "key.revoke",
        "target_type": "key",
        "target_id": str(key_id),
        "target": prefix,
        "details": {},
        "subject": subject,
    }


@dataclass(frozen=True)
class Pruned:
    count: int
    before: datetime


async def prune_audit(
    ctx: ServiceContext,
    *,
    before: datetime,
    confirmed: bool,
    allow_destructive: bool,
    batch: int = BATCH,
) -> Pruned:
    """Delete audit events older than ``before``; one ``audit.prune`` event records it."""
    require_confirmation(ctx.settings, confirmed=confirmed, what="pruning the audit trail")
    async with uow(ctx, write=False) as u:
        stamp = await u.read_stamp()
    require_unprotected(stamp, allow_destructive=allow_destructive, what="pruning the audit trail")

    async def step(u: UnitOfWork) -> int:
        return await u.audit.delete_oldest(before=before, batch=batch)

    count = await _in_batches(
        ctx, action=PRUNE_ACTION, target_type="audit", before=before, step=step
    )
    return Pruned(count, before)


async def prune_keys(
    ctx: ServiceContext, *, before: datetime, confirmed: bool, batch: int = BATCH
) -> Pruned:
    """Delete keys revoked or expired before ``before`` (their audit events stay)."""
    require_confirmation(ctx.settings, confirmed=confirmed, what="pruning revoked and expired keys")

    async def step(u: UnitOfWork) -> int:
        return await u.keys.delete_dead(before=before, batch=batch)

    count = await _in_batches(ctx, action="key.prune", target_type="key", before=before, step=step)
    return Pruned(count, before)


async def _in_batches(
    ctx: ServiceContext,
    *,
    action: str,
    target_type: str,
    before: datetime,
    step: Callable[[UnitOfWork], Awaitable[int]],
) -> int:
    """Run ``step`` in units of work until it removes nothing. The first batch records one
    event, and each batch updates its count in the same unit, so the event is always true."""
    total, event_id = 0, None
    while True:
        async with uow(ctx) as u:
            removed = await step(u)
            if not removed:
                return total
            total += removed
            details = {"count": total, "before": before.isoformat(timespec="seconds")}
            if event_id is None:
                event = u.record_event(action, target_type=target_type, details=details)
                await u.flush()
                event_id = event.id
            else:
                await u.audit.set_details(event_id, details)
