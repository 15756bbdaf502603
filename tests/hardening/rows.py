"""Set-up rows put straight into a test database with Core bulk inserts (no audit events), and
the counts the fault and concurrency tests check their invariants with."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.app.models import Base
from tests.support import Db

BATCH = 5_000


def seed_account(db: Db, name: str, *, keys: int) -> tuple[int, list[int]]:
    """A service account owning ``keys`` live API keys; returns the account id and the key ids."""
    return asyncio.run(_seed_account(db.url, name, keys))


async def _seed_account(url: str, name: str, keys: int) -> tuple[int, list[int]]:
    accounts = Base.metadata.tables["service_accounts"]
    api_keys = Base.metadata.tables["api_keys"]
    now = datetime.now(UTC)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            account_id = (
                await conn.execute(
                    insert(accounts)
                    .values(name=name, is_active=True, created_at=now, updated_at=now)
                    .returning(accounts.c.id)
                )
            ).scalar_one()
            rows: list[dict[str, Any]] = [
                {
                    "service_account_id": account_id,
                    "digest": secrets.token_hex(32),
                    "display_prefix": "bk_" + secrets.token_hex(3),
                    "scopes": [],
                    "created_at": now,
                }
                for _ in range(keys)
            ]
            for start in range(0, len(rows), BATCH):
                await conn.execute(insert(api_keys), rows[start : start + BATCH])
            ids = await conn.execute(
                text("SELECT id FROM api_keys WHERE service_account_id = :id ORDER BY id"),
                {"id": account_id},
            )
            return int(account_id), [int(row[0]) for row in ids]
    finally:
        await engine.dispose()


def account_state(db: Db, account_id: int) -> tuple[int, int]:
    """(accounts with this id, API keys pointing at this id): (1, N) or (0, 0), never between."""
    accounts = int(db.scalar("SELECT count(*) FROM service_accounts WHERE id = :id", id=account_id))
    keys = int(
        db.scalar("SELECT count(*) FROM api_keys WHERE service_account_id = :id", id=account_id)
    )
    return accounts, keys


def events(db: Db, action: str) -> list[tuple[str | None, str | None]]:
    """(target_id, target) of every audit event with this action, oldest first."""
    rows = db.rows(
        "SELECT target_id, target FROM audit_events WHERE action = :action ORDER BY id",
        action=action,
    )
    return [(row[0], row[1]) for row in rows]
