"""Races between two operators, made deterministic: the second change lands between the first's
read and its write. No integrity error is ever an unexpected failure (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backend.app.domain import AccountName
from backend.app.errors import NotFound
from backend.app.services import accounts, keys, principals
from backend.app.services.uow import UnitOfWork, uow
from tests.fixtures.services import service_context
from tests.support import Db

ONLY_POSTGRESQL = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)
CI = AccountName("ci")


@ONLY_POSTGRESQL  # SQLite's writers take the write lock at BEGIN: this race cannot happen there
async def test_a_key_issued_to_an_account_deleted_meanwhile_is_not_found(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        service_context(db.url, tmp_path) as ctx,
        service_context(db.url, tmp_path, confirm_destructive=False) as operator,
    ):
        await accounts.create_account(ctx, name=CI)
        found = principals.require

        async def require_then_lose_the_race(u: UnitOfWork, name: AccountName, **kw: bool):  # type: ignore[no-untyped-def]
            account = await found(u, name, **kw)
            # Another process deletes the account and commits. The delete looks the account up
            # through `require` too: put the real one back first, or it would race itself.
            monkeypatch.setattr(principals, "require", found)
            await principals.delete(operator, CI, confirmed=True)
            return account

        monkeypatch.setattr(principals, "require", require_then_lose_the_race)
        with pytest.raises(NotFound, match="no longer exists"):
            await keys.create_key(ctx, owner=CI)
        monkeypatch.undo()
        async with uow(ctx, write=False) as u:
            count = (await u.session.execute(text("SELECT count(*) FROM api_keys"))).scalar_one()
        assert count == 0
