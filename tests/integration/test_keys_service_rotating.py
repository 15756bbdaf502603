"""`services.keys`, rotating and revoking: the new key's lifetime, the old key's end with and
without grace, what is audited, the keys that cannot be rotated (already rotated, revoked,
expired, owner inactive), and a revocation audited once.

Part of the mutation run of ``backend.app.services.keys`` (see ``test_keys_service_issuing.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.app.core import keys as key_format
from backend.app.domain import KeyStatus
from backend.app.errors import Conflict
from backend.app.services import keys as service
from backend.app.services import principals, revocation
from backend.app.services.context import ServiceContext
from backend.app.services.principals import PrincipalName
from tests.fixtures.keys_service import (
    ACCOUNT_DEFAULT,
    CI,
    DAY,
    DEV,
    OPS,
    T0,
    Clock,
    clock,
    contexts,
    ctx,
    key_count,
    key_events,
    seconds,
    stored,
    template,
)

__all__ = ["clock", "contexts", "ctx", "template"]  # fixtures, taken by name

# -- rotating -------------------------------------------------------------------------------------


async def test_rotating_without_grace_revokes_the_old_key_now_and_keeps_the_lifetime(
    ctx: ServiceContext, clock: Clock
) -> None:
    scopes = ("keys:write", "users:read")
    old = await service.create_key(ctx, owner=CI, name="deploy", scopes=scopes)
    now = clock.advance(10 * DAY)
    rotation = await service.rotate_key(ctx, key_id=old.key.id)
    new, before = rotation.new, await stored(ctx, old.key.id)

    assert rotation.old.id == old.key.id
    assert (before.revoked_at, before.expires_at) == (now, T0 + ACCOUNT_DEFAULT)
    key = await stored(ctx, new.key.id)
    assert (key.service_account_id, key.user_id) == (old.key.service_account_id, None)
    assert (key.name, key.scopes, key.rotated_from_id) == ("deploy", list(scopes), old.key.id)
    assert (key.created_at, key.expires_at) == (now, now + ACCOUNT_DEFAULT)
    assert key.digest == key_format.digest(new.raw)
    assert new.raw != old.raw
    assert new.owner == old.owner

    [_, event] = await key_events(ctx)
    assert (event.action, event.subject, event.target_id) == (
        "key.rotate",
        "account:ci",
        str(old.key.id),
    )
    assert event.target == old.key.display_prefix
    assert event.details == {
        "new_key_id": new.key.id,
        "new_key": new.key.display_prefix,
        "grace": None,
        "old_key_ends": seconds(now),
    }


async def test_rotating_a_key_that_never_expires_gives_one_that_never_expires(
    ctx: ServiceContext, clock: Clock
) -> None:
    old = await service.create_key(ctx, owner=DEV)
    clock.advance(DAY)
    rotation = await service.rotate_key(ctx, key_id=old.key.id)
    assert (await stored(ctx, rotation.new.key.id)).expires_at is None
    assert (await key_events(ctx))[-1].subject == "user:dev@example.com"


async def test_rotating_keeps_a_lifetime_that_was_given_rather_than_defaulted(
    ctx: ServiceContext, clock: Clock
) -> None:
    old = await service.create_key(ctx, owner=DEV, expires=T0 + 30 * DAY)
    now = clock.advance(timedelta(days=5, hours=1))
    rotation = await service.rotate_key(ctx, key_id=old.key.id)
    assert (await stored(ctx, rotation.new.key.id)).expires_at == now + 30 * DAY


@pytest.mark.parametrize(
    ("owner", "elapsed", "grace", "old_ends", "shown"),
    [
        (CI, 10 * DAY, timedelta(hours=1), T0 + 10 * DAY + timedelta(hours=1), "1h"),
        (CI, 10 * DAY, timedelta(days=1, hours=12), T0 + 11 * DAY + timedelta(hours=12), "1d12h"),
        (CI, 89 * DAY, 7 * DAY, T0 + ACCOUNT_DEFAULT, "7d"),
        (CI, 89 * DAY, DAY, T0 + ACCOUNT_DEFAULT, "1d"),
        (CI, 88 * DAY, DAY, T0 + 89 * DAY, "1d"),
        (DEV, 10 * DAY, 7 * DAY, T0 + 17 * DAY, "7d"),
    ],
    ids=[
        "an-hour",
        "a-day-and-a-half",
        "a-grace-outliving-the-old-expiry-ends-at-that-expiry",
        "a-grace-ending-exactly-at-the-old-expiry",
        "a-grace-ending-before-the-old-expiry",
        "a-key-that-never-expired-now-does",
    ],
)
async def test_rotating_with_grace_lets_the_old_key_work_until_the_earlier_end(
    ctx: ServiceContext,
    clock: Clock,
    owner: PrincipalName,
    elapsed: timedelta,
    grace: timedelta,
    old_ends: datetime,
    shown: str,
) -> None:
    old = await service.create_key(ctx, owner=owner)
    clock.advance(elapsed)
    rotation = await service.rotate_key(ctx, key_id=old.key.id, grace=grace)
    before = await stored(ctx, old.key.id)
    assert (before.revoked_at, before.expires_at) == (None, old_ends)
    assert (rotation.old.revoked_at, rotation.old.expires_at) == (None, old_ends)
    assert (await service.get_key(ctx, key_id=old.key.id)).status is KeyStatus.ACTIVE
    [*_, event] = await key_events(ctx)
    assert event.details == {
        "new_key_id": rotation.new.key.id,
        "new_key": rotation.new.key.display_prefix,
        "grace": shown,
        "old_key_ends": seconds(old_ends),
    }


async def test_a_zero_grace_revokes_the_old_key_now(ctx: ServiceContext, clock: Clock) -> None:
    old = await service.create_key(ctx, owner=CI)
    now = clock.advance(DAY)
    await service.rotate_key(ctx, key_id=old.key.id, grace=timedelta(0))
    before = await stored(ctx, old.key.id)
    assert (before.revoked_at, before.expires_at) == (now, T0 + ACCOUNT_DEFAULT)
    assert (await key_events(ctx))[-1].details["grace"] is None


async def test_a_key_rotated_once_cannot_be_rotated_again(
    ctx: ServiceContext, clock: Clock
) -> None:
    old = await service.create_key(ctx, owner=CI)
    first = await service.rotate_key(ctx, key_id=old.key.id, grace=DAY)
    with pytest.raises(Conflict) as caught:
        await service.rotate_key(ctx, key_id=old.key.id, grace=DAY)
    assert str(caught.value) == (
        f"key {old.key.id} was already rotated (replaced by key {first.new.key.id})"
    )
    assert caught.value.exit_code == 4
    assert await key_count(ctx) == 2
    assert [event.action for event in await key_events(ctx)] == ["key.create", "key.rotate"]


@pytest.mark.parametrize(
    ("why", "status"),
    [("revoked", "revoked"), ("expired", "expired"), ("owner", "owner inactive")],
    ids=["revoked", "expired", "owner-inactive"],
)
async def test_a_key_that_does_not_work_cannot_be_rotated(
    ctx: ServiceContext, clock: Clock, why: str, status: str
) -> None:
    issued = await service.create_key(ctx, owner=OPS, expires=T0 + DAY)
    if why == "revoked":
        await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    elif why == "expired":
        clock.advance(DAY)
    else:
        await principals.set_active(ctx, OPS, active=False)
    for grace in (None, DAY):
        with pytest.raises(Conflict) as caught:
            await service.rotate_key(ctx, key_id=issued.key.id, grace=grace)
        assert str(caught.value) == f"key {issued.key.id} cannot be rotated: it is {status}"
    assert await key_count(ctx) == 1
    assert "key.rotate" not in [event.action for event in await key_events(ctx)]


async def test_a_key_replaced_without_grace_is_revoked_so_it_cannot_be_rotated_again(
    ctx: ServiceContext, clock: Clock
) -> None:
    old = await service.create_key(ctx, owner=CI)
    await service.rotate_key(ctx, key_id=old.key.id)
    with pytest.raises(Conflict) as caught:
        await service.rotate_key(ctx, key_id=old.key.id)
    assert str(caught.value) == f"key {old.key.id} cannot be rotated: it is revoked"


# -- revoking -------------------------------------------------------------------------------------


async def test_revoking_twice_changes_and_audits_once(ctx: ServiceContext, clock: Clock) -> None:
    issued = await service.create_key(ctx, owner=CI)
    [first] = await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    [again] = await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    assert (first.changed, again.changed) == (True, False)
    assert first.revoked_at == again.revoked_at == (await stored(ctx, issued.key.id)).revoked_at
    [_, event] = await key_events(ctx)
    assert (event.action, event.target_id, event.subject) == (
        "key.revoke",
        str(issued.key.id),
        "account:ci",
    )
    assert (await service.get_key(ctx, key_id=issued.key.id)).status is KeyStatus.REVOKED
