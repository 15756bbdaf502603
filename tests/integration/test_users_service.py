"""User and account use cases against a real database: authentication and hash upgrades."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.app.cli._output import format_time
from backend.app.domain import Email
from backend.app.errors import AuthenticationFailed
from backend.app.services import users
from backend.app.services.context import ServiceContext
from backend.app.services.uow import uow
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


# -- authenticate_user -----------------------------------------------------------------------------


async def test_authenticate_returns_the_user_and_records_the_login(ctx: ServiceContext) -> None:
    await add_user(ctx, "bob@example.com")
    assert await stored(ctx, "bob@example.com", "last_login_at") is None

    user = await users.authenticate_user(ctx, email="  BOB@example.com", password=PASSWORD)

    assert user.email == "bob@example.com"
    assert user.last_login_at is not None
    assert await stored(ctx, "bob@example.com", "last_login_at") is not None


async def test_every_failed_authentication_looks_the_same_to_the_caller(
    ctx: ServiceContext,
) -> None:
    await add_user(ctx, "bob@example.com")
    await add_user(ctx, "gone@example.com", active=False)
    events = await audit_count(ctx)

    failures = {}
    for reason, email, password in (
        ("wrong password", "bob@example.com", "not-the-password"),
        ("unknown email", "nobody@example.com", PASSWORD),
        ("user is inactive", "gone@example.com", PASSWORD),
        ("unknown email", "not an email", PASSWORD),
        ("wrong password", "bob@example.com", PASSWORD * 100),
        ("wrong password", "bob@example.com", ""),
    ):
        with pytest.raises(AuthenticationFailed) as caught:
            await users.authenticate_user(ctx, email=email, password=password)
        assert caught.value.reason == reason
        assert PASSWORD not in str(caught.value)
        failures[email, password] = (str(caught.value), caught.value.exit_code)

    assert len(set(failures.values())) == 1
    assert await stored(ctx, "bob@example.com", "last_login_at") is None
    assert await stored(ctx, "gone@example.com", "last_login_at") is None
    assert await audit_count(ctx) == events


async def test_a_hash_with_a_lower_time_cost_is_upgraded_on_a_successful_login(
    db: Db, tmp_path: Path
) -> None:
    old = make_context(db, tmp_path, argon2_time_cost=2)
    new = make_context(db, tmp_path, argon2_time_cost=3)
    try:
        await add_user(old, "bob@example.com")
        before = await stored(old, "bob@example.com", "password_hash")
        assert ",t=2," in before

        with pytest.raises(AuthenticationFailed):
            await users.authenticate_user(new, email="bob@example.com", password="wrong-password")
        assert await stored(new, "bob@example.com", "password_hash") == before

        await users.authenticate_user(new, email="bob@example.com", password=PASSWORD)
        after = await stored(new, "bob@example.com", "password_hash")
        assert after != before
        assert after.startswith("$argon2id$")
        assert ",t=3," in after
        assert verifies(PASSWORD, after)

        await users.authenticate_user(new, email="bob@example.com", password=PASSWORD)
        assert await stored(new, "bob@example.com", "password_hash") == after
    finally:
        await old.database.finish()
        await new.database.finish()


async def test_a_hash_with_less_memory_is_upgraded_on_a_successful_login(
    db: Db, tmp_path: Path
) -> None:
    old = make_context(db, tmp_path)
    new = make_context(db, tmp_path, argon2_memory_kib=32_768)
    try:
        await add_user(old, "bob@example.com")
        assert "m=19456," in await stored(old, "bob@example.com", "password_hash")

        await users.authenticate_user(new, email="bob@example.com", password=PASSWORD)

        after = await stored(new, "bob@example.com", "password_hash")
        assert "m=32768," in after
        assert verifies(PASSWORD, after)
    finally:
        await old.database.finish()
        await new.database.finish()


async def test_a_hash_with_a_higher_cost_than_configured_still_verifies(
    db: Db, tmp_path: Path
) -> None:
    strong = make_context(db, tmp_path, argon2_time_cost=3)
    default = make_context(db, tmp_path)
    try:
        await add_user(strong, "bob@example.com")

        user = await users.authenticate_user(default, email="bob@example.com", password=PASSWORD)

        assert user.email == "bob@example.com"
        assert verifies(PASSWORD, await stored(default, "bob@example.com", "password_hash"))
    finally:
        await strong.database.finish()
        await default.database.finish()


# -- list_users --------------------------------------------------------------------------------


async def test_listed_times_as_text_are_what_output_makes_of_the_datetimes(
    ctx: ServiceContext,
) -> None:
    """The database formats the timestamps `users.list` prints, exactly as the CLI formats a
    datetime (UTC, to the second, with a Z), on SQLite and PostgreSQL alike."""
    await add_user(ctx, "bob@example.com")
    await add_user(ctx, "ann@example.com")
    login = datetime(
        2026, 12, 3, 17, 41, 21, 987654, tzinfo=UTC
    )  # the fraction is cut, not rounded
    async with uow(ctx) as u:
        user = await u.users.get_by_email(Email.parse("ann@example.com"))
        assert user is not None
        user.last_login_at = login
    async with users.list_users(ctx) as rows:
        as_datetimes = [dict(row) async for row in rows]
    async with users.list_users(ctx, times_as_text=True) as rows:
        as_text = [dict(row) async for row in rows]
    assert [row["last_login_at"] for row in as_text] == [None, "2026-12-03T17:41:21Z"]
    for dated, texted in zip(as_datetimes, as_text, strict=True):
        for column in ("created_at", "last_login_at"):
            value = dated[column]
            assert texted[column] == (None if value is None else format_time(value))
        assert {k: v for k, v in dated.items() if not k.endswith("_at")} == {
            k: v for k, v in texted.items() if not k.endswith("_at")
        }
