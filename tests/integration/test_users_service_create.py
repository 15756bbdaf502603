"""User and account creation against a real database: uniqueness, policy, seeding, races."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.app.domain import AccountName, Email
from backend.app.errors import AlreadyExists, AuthenticationFailed, InvalidInput
from backend.app.services import accounts, principals, users
from backend.app.services.context import ServiceContext
from tests.fixtures import users_service
from tests.fixtures.users import reused_db, verifies
from tests.fixtures.users_service import (
    PASSWORD,
    add_user,
    audit_count,
    make_context,
    stored,
)
from tests.support import Db

db = reused_db
ctx = users_service.ctx  # the fixture: a context on `db`


# -- create_user and friends -----------------------------------------------------------------------


async def test_uniqueness_is_enforced_by_the_database_not_only_by_a_lookup(
    ctx: ServiceContext,
) -> None:
    await add_user(ctx, "bob@example.com")

    # No prior SELECT on this path: the insert itself must fail, and roll back its audit event.
    events = await audit_count(ctx)
    with pytest.raises(AlreadyExists):
        await users.create_user(ctx, email=Email.parse("BOB@example.com"), password=PASSWORD)
    assert await audit_count(ctx) == events


async def test_create_if_not_exists_returns_the_existing_user_unchanged(
    ctx: ServiceContext,
) -> None:
    await add_user(ctx, "bob@example.com")

    change = await users.create_user(
        ctx, email=Email("bob@example.com"), password="another-password-1", if_not_exists=True
    )

    assert not change.changed
    assert verifies(PASSWORD, await stored(ctx, "bob@example.com", "password_hash"))


async def test_a_password_outside_the_policy_is_rejected_before_anything_is_written(
    ctx: ServiceContext,
) -> None:
    for password in ("tiny-pw", "x" * 1025, "   " * 10, "nul\x00-in-the-middle"):
        with pytest.raises(InvalidInput) as caught:
            await users.create_user(ctx, email=Email("bob@example.com"), password=password)
        assert password.strip() == "" or password not in str(caught.value)
    assert await audit_count(ctx) == 0


async def test_seed_admin_uses_the_configured_admin_and_is_idempotent(
    db: Db, tmp_path: Path
) -> None:
    ctx = make_context(db, tmp_path)
    try:
        first = await users.seed_admin(ctx, email=Email.parse("root@example.com"))
        second = await users.seed_admin(ctx, email=Email.parse("ROOT@example.com"))
    finally:
        await ctx.database.finish()

    assert first.created
    assert first.generated_password is not None
    assert verifies(first.generated_password, first.user.password_hash)
    assert not second.created
    assert second.generated_password is None
    assert second.warnings == []
    assert second.user.id == first.user.id


async def test_account_names_are_unique_whatever_their_case(ctx: ServiceContext) -> None:
    await accounts.create_account(ctx, name=AccountName.parse("ci"))

    with pytest.raises(AlreadyExists):
        await accounts.create_account(ctx, name=AccountName.parse("CI"))


async def test_a_password_changed_during_a_login_is_not_overwritten_by_the_old_one(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored hash is re-checked when the login writes: set-password wins a race with it.

    The login verifies the old password while, in between its read and its write, an operator
    sets a new one. Upgrading (or trusting) the hash it read would bring the old password back.
    """
    old = make_context(db, tmp_path, argon2_time_cost=2)
    new = make_context(db, tmp_path, argon2_time_cost=3)  # so the login has a hash to upgrade
    try:
        await add_user(old, "bob@example.com")
        verify = new.passwords.verify

        def verify_while_an_operator_resets_the_password(
            password: str, hashed: str | None
        ) -> tuple[bool, str | None]:
            outcome = verify(password, hashed)

            async def reset() -> None:  # another connection, as another process would use
                operator = make_context(db, tmp_path)
                try:
                    await users.set_password(
                        operator,
                        email=Email("bob@example.com"),
                        password="the-new-password",
                        source="t",
                    )
                finally:
                    await operator.database.finish()

            asyncio.run(reset())  # this runs in the login's worker thread, outside its loop
            return outcome

        monkeypatch.setattr(new.passwords, "verify", verify_while_an_operator_resets_the_password)

        with pytest.raises(AuthenticationFailed) as caught:
            await users.authenticate_user(new, email="bob@example.com", password=PASSWORD)

        assert str(caught.value) == "invalid email or password"
        final = await stored(new, "bob@example.com", "password_hash")
        assert verifies("the-new-password", final)
        assert not verifies(PASSWORD, final)
    finally:
        await old.database.finish()
        await new.database.finish()


async def test_a_user_deactivated_during_a_login_is_refused(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context(db, tmp_path)
    try:
        await add_user(ctx, "bob@example.com")
        verify = ctx.passwords.verify

        def verify_while_an_operator_deactivates(
            password: str, hashed: str | None
        ) -> tuple[bool, str | None]:
            outcome = verify(password, hashed)

            async def deactivate() -> None:
                operator = make_context(db, tmp_path)
                try:
                    await principals.set_active(operator, Email("bob@example.com"), active=False)
                finally:
                    await operator.database.finish()

            asyncio.run(deactivate())
            return outcome

        monkeypatch.setattr(ctx.passwords, "verify", verify_while_an_operator_deactivates)

        with pytest.raises(AuthenticationFailed):
            await users.authenticate_user(ctx, email="bob@example.com", password=PASSWORD)
        assert await stored(ctx, "bob@example.com", "last_login_at") is None
    finally:
        await ctx.database.finish()
