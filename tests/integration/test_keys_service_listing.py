"""`services.keys`, showing and listing: a shown key's owner, status and successor, the locks
showing and rotating take, reads beside a writer, missing keys and owners, and the filters of
a listing over one key of each status.

Part of the mutation run of ``backend.app.services.keys`` (see ``test_keys_service_issuing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from backend.app.domain import KeyStatus, OwnerKind
from backend.app.errors import NotFound
from backend.app.models import ApiKey, ServiceAccount
from backend.app.repositories.keys import KeyRepository
from backend.app.services import keys as service
from backend.app.services import principals, revocation
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner
from backend.app.services.uow import uow
from tests.fixtures.keys_service import (
    CI,
    DAY,
    DEV,
    GHOST,
    OPS,
    T0,
    Clock,
    Contexts,
    clock,
    contexts,
    ctx,
    listed,
    owner_id,
    template,
)

__all__ = ["clock", "contexts", "ctx", "template"]  # fixtures, taken by name

# -- showing and listing --------------------------------------------------------------------------


async def test_a_shown_key_has_its_owner_status_and_successor(
    ctx: ServiceContext, clock: Clock
) -> None:
    issued = await service.create_key(ctx, owner=DEV, name="ci")
    shown = await service.get_key(ctx, key_id=issued.key.id)
    dev = Owner(OwnerKind.USER, await owner_id(ctx, DEV), "dev@example.com", True)
    assert (shown.key.id, shown.key.name, shown.owner) == (issued.key.id, "ci", dev)
    assert (shown.status, shown.replaced_by) == (KeyStatus.ACTIVE, None)

    rotation = await service.rotate_key(ctx, key_id=issued.key.id, grace=DAY)
    shown = await service.get_key(ctx, key_id=issued.key.id)
    assert (shown.status, shown.replaced_by) == (KeyStatus.ACTIVE, rotation.new.key.id)


async def test_a_shown_account_key_names_the_account(ctx: ServiceContext, clock: Clock) -> None:
    issued = await service.create_key(ctx, owner=OPS)
    shown = await service.get_key(ctx, key_id=issued.key.id)
    assert shown.owner == Owner(OwnerKind.ACCOUNT, await owner_id(ctx, OPS), "ops", True)


async def test_a_shown_key_says_why_it_does_not_work(ctx: ServiceContext, clock: Clock) -> None:
    revoked = await service.create_key(ctx, owner=CI)
    await revocation.revoke_keys(ctx, key_ids=[revoked.key.id])
    expired = await service.create_key(ctx, owner=CI, expires=T0 + DAY)
    orphaned = await service.create_key(ctx, owner=OPS)
    await principals.set_active(ctx, OPS, active=False)
    clock.advance(DAY)
    statuses = [(await service.get_key(ctx, key_id=k.key.id)).status for k in (revoked, expired)]
    statuses.append((await service.get_key(ctx, key_id=orphaned.key.id)).status)
    assert statuses == [KeyStatus.REVOKED, KeyStatus.EXPIRED, KeyStatus.OWNER_INACTIVE]


async def test_rotating_locks_the_old_key_and_showing_locks_nothing(
    ctx: ServiceContext, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite serialises writers anyway; on PostgreSQL the row lock is what stops two rotations
    of one key from both succeeding, and a read-only transaction must not ask for one."""
    issued = await service.create_key(ctx, owner=CI)
    locks: list[bool] = []
    real_get = KeyRepository.get

    async def get(self: KeyRepository, key_id: int, *, for_update: bool = False) -> ApiKey | None:
        locks.append(for_update)
        return await real_get(self, key_id, for_update=for_update)

    monkeypatch.setattr(KeyRepository, "get", get)
    await service.get_key(ctx, key_id=issued.key.id)
    await service.rotate_key(ctx, key_id=issued.key.id)
    assert locks == [False, True]


async def test_showing_and_listing_read_while_another_command_is_writing(
    contexts: Contexts, clock: Clock
) -> None:
    """They take no write lock: on SQLite a report would otherwise wait for every writer, and
    fail once the busy timeout passes."""
    writer, reader = contexts(), contexts(database_busy_timeout_ms=100)
    issued = await service.create_key(writer, owner=CI)
    async with uow(writer) as u:
        busy = update(ServiceAccount).where(ServiceAccount.name == OPS).values(description="busy")
        await u.session.execute(busy)
        assert (await service.get_key(reader, key_id=issued.key.id)).key.id == issued.key.id
        assert [row["id"] for row in await listed(reader)] == [issued.key.id]


@pytest.mark.parametrize("key_id", [999, 1_000_000_000_000], ids=["unused", "huge"])
async def test_showing_or_rotating_a_missing_key_names_its_id(
    ctx: ServiceContext, clock: Clock, key_id: int
) -> None:
    await service.create_key(ctx, owner=CI)
    for attempt in (
        service.get_key(ctx, key_id=key_id),
        service.rotate_key(ctx, key_id=key_id),
        service.rotate_key(ctx, key_id=key_id, grace=DAY),
    ):
        with pytest.raises(NotFound) as caught:
            await attempt
        assert str(caught.value) == f"no API key with id {key_id}"
        assert caught.value.exit_code == 3


@dataclass(frozen=True)
class Keys:
    live: int
    of_dev: int
    revoked: int
    expired: int
    owner_inactive: int


@pytest.fixture
async def several(ctx: ServiceContext, clock: Clock) -> Keys:
    """One key of each status: live and orphaned ones, expiring in 2 and 20 days from T0 + 1d."""
    live = await service.create_key(ctx, owner=CI, expires=T0 + 21 * DAY)
    of_dev = await service.create_key(ctx, owner=DEV, scopes=("users:read",))
    revoked = await service.create_key(ctx, owner=CI)
    expired = await service.create_key(ctx, owner=CI, expires=T0 + DAY)
    owner_inactive = await service.create_key(ctx, owner=OPS, expires=T0 + 3 * DAY)
    await revocation.revoke_keys(ctx, key_ids=[revoked.key.id])
    await principals.set_active(ctx, OPS, active=False)
    clock.advance(DAY)
    ids = (live, of_dev, revoked, expired, owner_inactive)
    return Keys(*(issued.key.id for issued in ids))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [("live", "active"), ("of_dev", "active"), ("owner_inactive", "owner inactive")]),
        (
            {"include_all": True},
            [
                ("live", "active"),
                ("of_dev", "active"),
                ("revoked", "revoked"),
                ("expired", "expired"),
                ("owner_inactive", "owner inactive"),
            ],
        ),
        ({"owner": CI}, [("live", "active")]),
        (
            {"owner": CI, "include_all": True},
            [("live", "active"), ("revoked", "revoked"), ("expired", "expired")],
        ),
        ({"owner": DEV}, [("of_dev", "active")]),
        ({"owner": OPS}, [("owner_inactive", "owner inactive")]),
        ({"expiring_before": T0 + 10 * DAY}, [("owner_inactive", "owner inactive")]),
        ({"unused_since": T0}, []),
        (
            {"unused_since": T0 + DAY},
            [("live", "active"), ("of_dev", "active"), ("owner_inactive", "owner inactive")],
        ),
    ],
    ids=[
        "live-keys-by-default",
        "every-key",
        "one-account",
        "one-account-every-key",
        "one-user",
        "an-inactive-owner",
        "expiring-soon",
        "unused-since-before-they-were-made",
        "unused-since-after",
    ],
)
async def test_listing_filters_by_owner_and_liveness_and_gives_each_status(
    ctx: ServiceContext, several: Keys, filters: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    rows = await listed(ctx, **filters)
    assert [(row["id"], row["status"]) for row in rows] == [
        (getattr(several, name), status) for name, status in expected
    ]
    for row in rows:
        assert row["owner_active"] is (row["status"] != "owner inactive")


async def test_a_listed_key_has_its_owner_and_stored_columns(
    ctx: ServiceContext, several: Keys
) -> None:
    rows = {row["id"]: row for row in await listed(ctx, include_all=True)}
    dev = rows[several.of_dev]
    assert {name: dev[name] for name in ("owner_type", "owner", "scopes", "created_at")} == {
        "owner_type": "user",
        "owner": "dev@example.com",
        "scopes": ["users:read"],
        "created_at": T0,
    }
    assert (rows[several.live]["owner_type"], rows[several.live]["owner"]) == ("account", "ci")
    assert rows[several.live]["expires_at"] == T0 + 21 * DAY
    assert rows[several.revoked]["revoked_at"] is not None
    assert set(dev) == {
        "id",
        "display_prefix",
        "name",
        "owner_type",
        "owner",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "rotated_from_id",
        "owner_active",
        "status",
    }


async def test_listing_the_keys_of_a_missing_owner_is_not_found(ctx: ServiceContext) -> None:
    with pytest.raises(NotFound) as caught:
        await listed(ctx, owner=GHOST)
    assert str(caught.value) == "no service account ghost"
