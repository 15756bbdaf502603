"""Checking API keys: ``authenticate`` for the application, ``inspect`` for operators.

Format and checksum come first (MalformedKey, no query), then one indexed lookup by digest and
a constant-time compare, then revocation, expiry and the owner's active flag.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.app.core.keys import digest, parse_key
from backend.app.domain import KeyStatus, OwnerKind, Role
from backend.app.errors import KeyRejected
from backend.app.models import utcnow
from backend.app.repositories import keys as keys_repo
from backend.app.services.context import ServiceContext
from backend.app.services.keys import key_status
from backend.app.services.uow import uow

log = logging.getLogger(__name__)
# Compared against when no row matched, so an unknown key costs what a known one does.
_NO_DIGEST = "0" * 64


@dataclass(frozen=True)
class Principal:
    """Who a key authenticates as, and what it may do."""

    kind: OwnerKind
    id: int
    name: str  # the user's email or the account's name
    role: Role | None  # users only
    key_id: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class KeyCheck:
    """What an operator learns about a key: whose it is and whether it works, never the key."""

    valid: bool
    reason: str | None  # None when valid; "unknown", "revoked", "expired", "owner inactive"
    key_id: int | None = None
    display_prefix: str | None = None
    owner_type: OwnerKind | None = None
    owner: str | None = None
    status: KeyStatus | None = None
    scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


async def authenticate(ctx: ServiceContext, raw_key: str) -> Principal:
    """The one entry point for the web app: who does this key belong to, with what scopes.

    Every well-formed failure raises KeyRejected with the same message; only its ``reason``
    differs. ``last_used_at`` is written at most once per ``api_keys.last_used_resolution``, so
    most verifications are reads only.
    """
    now = utcnow()
    row = await _lookup(ctx, raw_key)
    status = _judge(row, now)
    if status is not KeyStatus.ACTIVE:
        raise KeyRejected("unknown" if status is None else status.value)
    assert row is not None
    resolution = ctx.settings.api_keys.last_used_resolution
    last_used = row["last_used_at"]
    if last_used is None or last_used < now - resolution:
        await _touch(ctx, key_id=row["id"], now=now, stale_before=now - resolution)
    is_user = row["user_id"] is not None
    return Principal(
        kind=OwnerKind.USER if is_user else OwnerKind.ACCOUNT,
        id=row["user_id"] if is_user else row["service_account_id"],
        name=row["email"] if is_user else row["account_name"],
        role=Role(row["role"]) if is_user else None,
        key_id=row["id"],
        scopes=tuple(row["scopes"] or ()),
    )


async def inspect(ctx: ServiceContext, raw_key: str) -> KeyCheck:
    """Whether a key would authenticate now, and whose it is. Read-only: it never records use,
    so checking a leaked key does not overwrite when it was last really used."""
    row = await _lookup(ctx, raw_key)
    status = _judge(row, utcnow())
    if row is None or status is None:
        return KeyCheck(valid=False, reason="unknown")
    is_user = row["user_id"] is not None
    return KeyCheck(
        valid=status is KeyStatus.ACTIVE,
        reason=None if status is KeyStatus.ACTIVE else status.value,
        key_id=row["id"],
        display_prefix=row["display_prefix"],
        owner_type=OwnerKind.USER if is_user else OwnerKind.ACCOUNT,
        owner=row["email"] if is_user else row["account_name"],
        status=status,
        scopes=tuple(row["scopes"] or ()),
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
    )


async def _lookup(ctx: ServiceContext, raw_key: str) -> Mapping[str, Any] | None:
    parsed = parse_key(raw_key)
    wanted = digest(parsed.value, ctx.pepper)
    row = await ctx.database.read_first(keys_repo.lookup_query(), {"digest": wanted})
    matches = hmac.compare_digest(row["digest"] if row else _NO_DIGEST, wanted)
    return row if matches else None


def _judge(row: Mapping[str, Any] | None, now: datetime) -> KeyStatus | None:
    """The key's status, or None for no key at all."""
    if row is None:
        return None
    is_user = row["user_id"] is not None
    return key_status(
        now=now,
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
        owner_active=bool(row["user_active"] if is_user else row["account_active"]),
    )


async def _touch(
    ctx: ServiceContext, *, key_id: int, now: datetime, stale_before: datetime
) -> None:
    """Record use; losing this write (a busy database) must never fail an authentication."""
    try:
        async with uow(ctx) as u:
            await u.keys.touch(key_id=key_id, now=now, stale_before=stale_before)
    except Exception as error:
        log.warning("could not record the use of API key %s: %s", key_id, type(error).__name__)
