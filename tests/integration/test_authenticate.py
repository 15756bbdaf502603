"""`services.keys.authenticate`, the web app's entry point, against real SQLite and PostgreSQL.

It returns the principal and scopes; every well-formed failure raises KeyRejected with the same
message, so a caller that shows only the message cannot tell an unknown key from a revoked one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.pool import QueuePool

from backend.app.core.database import Database
from backend.app.core.keys import generate_key
from backend.app.core.settings import build_settings
from backend.app.domain import AccountName, Email, OwnerKind, Role
from backend.app.errors import KeyRejected, MalformedKey
from backend.app.models import ApiKey, utcnow
from backend.app.services import accounts, authn, principals, revocation, users
from backend.app.services import keys as service
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow
from tests.fixtures import keys as keys_fixtures
from tests.support import Db

PASSWORD = "a-long-enough-test-password"
CI = AccountName("ci")
DEV = Email("dev@example.com")
MEMBER = Email("member@example.com")
Contexts = Callable[..., ServiceContext]

keys_pg_url = keys_fixtures.keys_pg_url
keys_db = keys_fixtures.keys_db


@pytest.fixture
async def contexts(keys_db: Db, tmp_path: Path) -> AsyncIterator[Contexts]:
    """Make service contexts on the test's migrated database, with extra settings if wanted."""
    made: list[ServiceContext] = []

    def make(**overrides: Any) -> ServiceContext:
        settings = build_settings(
            profile_values={}, root=tmp_path, overrides={"database_url": keys_db.url, **overrides}
        )
        ctx = ServiceContext(settings, Database(settings), "test-runner")
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.database.finish()


@pytest.fixture
async def ctx(contexts: Contexts) -> ServiceContext:
    ctx = contexts()
    await accounts.create_account(ctx, name=CI)
    await users.create_user(
        ctx, email=Email.parse("Dev@Example.com"), password=PASSWORD, role=Role.ADMIN
    )
    return ctx


async def _set(ctx: ServiceContext, key_id: int, **values: Any) -> None:
    async with uow(ctx) as u:
        await u.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(**values))


async def _key_row(ctx: ServiceContext, key_id: int) -> Mapping[str, Any]:
    async with ctx.database.connection(write=False) as conn:
        result = await conn.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key_id})
        return dict(result.mappings().one())


async def _rejection(ctx: ServiceContext, raw: str) -> KeyRejected:
    with pytest.raises(KeyRejected) as caught:
        await authn.authenticate(ctx, raw)
    return caught.value


# -- principals ------------------------------------------------------------------------------------


async def test_a_user_key_authenticates_as_the_user_with_role_and_scopes(
    ctx: ServiceContext,
) -> None:
    issued = await service.create_key(
        ctx, owner=DEV, scopes=("keys:write", "users:read"), name="laptop"
    )
    principal = await authn.authenticate(ctx, issued.raw)
    assert principal == authn.Principal(
        kind=OwnerKind.USER,
        id=issued.owner.id,
        name="dev@example.com",
        role=Role.ADMIN,
        key_id=issued.key.id,
        scopes=("keys:write", "users:read"),
    )


async def test_an_account_key_authenticates_as_the_account_without_a_role(
    ctx: ServiceContext,
) -> None:
    issued = await service.create_key(ctx, owner=CI)
    principal = await authn.authenticate(ctx, issued.raw)
    assert (principal.kind, principal.name, principal.role) == ("account", "ci", None)
    assert principal.id == issued.owner.id
    assert principal.key_id == issued.key.id
    assert principal.scopes == ()


async def test_surrounding_whitespace_does_not_stop_a_key(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    assert (await authn.authenticate(ctx, f" {issued.raw}\n")).key_id == issued.key.id


async def test_a_key_issued_under_an_old_prefix_keeps_working(
    ctx: ServiceContext, contexts: Contexts
) -> None:
    issued = await service.create_key(ctx, owner=CI)
    renamed = contexts(api_keys={"prefix": "acme_"})
    fresh = await service.create_key(renamed, owner=CI)
    assert fresh.raw.startswith("acme_")
    assert (await authn.authenticate(renamed, issued.raw)).key_id == issued.key.id
    assert (await authn.authenticate(ctx, fresh.raw)).key_id == fresh.key.id


# -- rejections ------------------------------------------------------------------------------------


async def test_every_rejection_has_the_same_message_and_its_own_reason(
    ctx: ServiceContext,
) -> None:
    unknown = generate_key("bk_")
    revoked = await service.create_key(ctx, owner=CI)
    await revocation.revoke_keys(ctx, key_ids=[revoked.key.id])
    expired = await service.create_key(ctx, owner=CI)
    await _set(ctx, expired.key.id, expires_at=utcnow() - timedelta(seconds=1))
    await users.create_user(ctx, email=MEMBER, password=PASSWORD)
    inactive = await service.create_key(ctx, owner=MEMBER)
    await principals.set_active(ctx, MEMBER, active=False)

    rejected = {
        "unknown": await _rejection(ctx, unknown),
        "revoked": await _rejection(ctx, revoked.raw),
        "expired": await _rejection(ctx, expired.raw),
        "owner inactive": await _rejection(ctx, inactive.raw),
    }
    for reason, error in rejected.items():
        assert error.reason == reason
        assert str(error) == "invalid API key"
        assert error.exit_code == 3
    for raw in (unknown, revoked.raw, expired.raw, inactive.raw):
        assert all(raw not in str(error) for error in rejected.values())


async def test_revocation_wins_over_expiry_and_an_inactive_owner(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    await _set(ctx, issued.key.id, expires_at=utcnow() - timedelta(days=1))
    await principals.set_active(ctx, CI, active=False)
    assert (await _rejection(ctx, issued.raw)).reason == "revoked"


async def test_a_key_whose_expiry_has_just_passed_is_expired(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    await _set(ctx, issued.key.id, expires_at=utcnow())
    assert (await _rejection(ctx, issued.raw)).reason == "expired"


async def test_reactivating_the_owner_restores_its_keys(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    await principals.set_active(ctx, CI, active=False)
    assert (await _rejection(ctx, issued.raw)).reason == "owner inactive"
    await principals.set_active(ctx, CI, active=True)
    assert (await authn.authenticate(ctx, issued.raw)).key_id == issued.key.id


async def test_a_malformed_key_raises_malformed_key_not_a_rejection(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    mistyped = issued.raw[:-1] + ("0" if issued.raw[-1] != "0" else "1")
    for raw in (mistyped, issued.raw[:-1], "", "Bearer " + issued.raw):
        with pytest.raises(MalformedKey):
            await authn.authenticate(ctx, raw)


# -- storage ---------------------------------------------------------------------------------------


async def test_a_pepper_changes_the_digest_so_keys_do_not_cross_peppers(
    ctx: ServiceContext, contexts: Contexts
) -> None:
    plain_key = await service.create_key(ctx, owner=CI)
    peppered = contexts(api_keys={"pepper": "pepper-one"})
    other = contexts(api_keys={"pepper": "pepper-two"})
    peppered_key = await service.create_key(peppered, owner=CI)

    assert (await authn.authenticate(peppered, peppered_key.raw)).key_id == peppered_key.key.id
    assert (await _rejection(ctx, peppered_key.raw)).reason == "unknown"
    assert (await _rejection(other, peppered_key.raw)).reason == "unknown"
    assert (await _rejection(peppered, plain_key.raw)).reason == "unknown"
    stored = await _key_row(ctx, peppered_key.key.id)
    assert stored["digest"] != (await _key_row(ctx, plain_key.key.id))["digest"]
    assert "pepper-one" not in repr(stored)


async def test_only_the_digest_and_display_prefix_are_stored(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI, name="deploy")
    row = await _key_row(ctx, issued.key.id)
    assert row["display_prefix"] == issued.raw[: len("bk_") + 8]
    assert len(row["digest"]) == 64
    assert all(issued.raw[11:] not in str(value) for value in row.values())


async def test_last_used_at_is_written_on_first_use_and_then_at_most_once_per_window(
    ctx: ServiceContext,
) -> None:
    issued = await service.create_key(ctx, owner=CI)
    await authn.authenticate(ctx, issued.raw)
    first = (await _key_row(ctx, issued.key.id))["last_used_at"]
    assert first is not None
    await authn.authenticate(ctx, issued.raw)
    assert (await _key_row(ctx, issued.key.id))["last_used_at"] == first

    await _set(ctx, issued.key.id, last_used_at=utcnow() - timedelta(minutes=6))
    await authn.authenticate(ctx, issued.raw)
    details = await service.get_key(ctx, key_id=issued.key.id)
    assert details.key.last_used_at is not None
    assert details.key.last_used_at > utcnow() - timedelta(minutes=1)


async def test_a_rejected_key_does_not_record_use(ctx: ServiceContext) -> None:
    issued = await service.create_key(ctx, owner=CI)
    await revocation.revoke_keys(ctx, key_ids=[issued.key.id])
    await _rejection(ctx, issued.raw)
    assert (await _key_row(ctx, issued.key.id))["last_used_at"] is None


def test_authentication_looks_keys_up_by_the_unique_digest_only() -> None:
    """One indexed lookup whatever the number of keys: the query filters on the digest alone."""
    from backend.app.repositories import keys as repo

    compiled = str(repo.lookup_query())
    where = compiled.split("WHERE", 1)[1]
    assert where.strip() == "api_keys.digest = :digest"
    assert ApiKey.__table__.c.digest.unique


# A reader connection dropped without being closed is reported by this warning when collected.
@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
async def test_concurrent_authentications_on_one_database_all_succeed_without_leaks(
    ctx: ServiceContext,
) -> None:
    """A web app authenticates many requests at once through one Database."""
    issued = [await service.create_key(ctx, owner=CI) for _ in range(3)]
    shared = ServiceContext(ctx.settings, Database(ctx.settings), ctx.actor)
    try:
        principals = await asyncio.wait_for(
            asyncio.gather(*(authn.authenticate(shared, key.raw) for key in issued * 10)),
            timeout=20,
        )
        pool = shared.database.engine().pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedout() <= 1  # at most the one long-lived reader
    finally:
        await shared.database.finish()
    assert [p.key_id for p in principals] == [key.key.id for key in issued * 10]
