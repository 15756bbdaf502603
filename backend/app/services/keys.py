"""API key use cases: issue, list, revoke, rotate, and ``authenticate`` for the web app.

A raw key exists in exactly one place for one moment: generated here, returned once in an
``IssuedKey`` for the caller to show, never stored, logged or audited. The database holds its
digest and a short display prefix.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.durations import MAX_DURATION, parse_duration
from backend.app.core.keys import digest, display_prefix, generate_key, parse_key
from backend.app.domain import (
    normalize_account_name,
    normalize_email,
    normalize_scopes,
    normalize_text,
)
from backend.app.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, quote
from backend.app.models import ApiKey, ServiceAccount, User, utcnow
from backend.app.repositories import accounts as accounts_repo
from backend.app.repositories import keys as repo
from backend.app.repositories import users as users_repo
from backend.app.services import audit
from backend.app.services.context import Change, ServiceContext

OwnerKind = Literal["user", "account"]
log = logging.getLogger(__name__)


class KeyRejected(AuthenticationFailed):
    """A well-formed key that does not authenticate.

    The message is the same for every reason ("invalid API key"), so a caller that shows only
    the message cannot learn whether a key exists, was revoked or expired. ``reason`` is one of
    ``unknown``, ``revoked``, ``expired``, ``owner inactive``: for logs and operators only.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("invalid API key", reason=reason)


@dataclass(frozen=True)
class Principal:
    """Who a key authenticates as, and what it may do."""

    kind: OwnerKind
    id: int
    name: str  # the user's email or the account's name
    role: str | None  # users only
    key_id: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: int
    name: str
    active: bool


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key. ``raw`` is shown to the caller once and then dropped."""

    key: ApiKey
    owner: Owner
    raw: str

    def __repr__(self) -> str:
        return f"IssuedKey(id={self.key.id}, display_prefix={self.key.display_prefix!r})"


@dataclass(frozen=True)
class KeyDetails:
    key: ApiKey
    owner: Owner
    status: str
    replaced_by: int | None


@dataclass(frozen=True)
class Rotation:
    old: ApiKey
    new: IssuedKey


def key_status(
    *,
    now: datetime,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    owner_active: bool,
) -> str:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    if not owner_active:
        return "owner inactive"
    return "active"


# -- issue ----------------------------------------------------------------------------------------


def resolve_expiry(
    ctx: ServiceContext,
    *,
    owner_kind: OwnerKind,
    now: datetime,
    expires_in: str | None = None,
    expires_at: str | None = None,
    no_expiry: bool = False,
) -> datetime | None:
    """At most one of the three; without any, the default lifetime for this kind of owner.

    ``None`` means "not given"; an empty string was given and is invalid, never the default.
    """
    given = [
        flag
        for flag, on in (
            ("--expires-in", expires_in is not None),
            ("--expires-at", expires_at is not None),
            ("--no-expiry", no_expiry),
        )
        if on
    ]
    if len(given) > 1:
        raise InvalidInput(f"give only one of {', '.join(given)}")
    if no_expiry:
        return None
    if expires_in is not None:
        lifetime = parse_duration(expires_in, what="--expires-in")
        if lifetime <= timedelta(0):
            raise InvalidInput("--expires-in must be longer than zero")
        return now + lifetime
    if expires_at is not None:
        return _parse_instant(expires_at, now=now)
    policy = ctx.settings.api_keys
    default = policy.user_default_expiry if owner_kind == "user" else policy.account_default_expiry
    return None if default is None else now + default


def _parse_instant(text: str, *, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"invalid --expires-at {quote(text)}: use ISO 8601, e.g. 2027-01-31 or "
            "2027-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:  # a bare date or time is read as UTC
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise InvalidInput("--expires-at must be in the future")
    if moment - now > MAX_DURATION:
        raise InvalidInput("--expires-at must be within 100 years")
    return moment.astimezone(UTC)


async def create_key(
    ctx: ServiceContext,
    *,
    user: str | None = None,
    account: str | None = None,
    name: str | None = None,
    scopes: list[str] | tuple[str, ...] = (),
    expires_in: str | None = None,
    expires_at: str | None = None,
    no_expiry: bool = False,
) -> IssuedKey:
    """Issue a key to exactly one owner. The raw key is in the result and nowhere else."""
    if (user is None) == (account is None):
        raise InvalidInput("give exactly one owner: --user EMAIL or --account NAME")
    kind: OwnerKind = "user" if user is not None else "account"
    label = normalize_email(user) if user is not None else normalize_account_name(account or "")
    clean_name = normalize_text(name, what="--name", limit=200)
    clean_scopes = normalize_scopes(list(scopes))
    now = utcnow()
    expiry = resolve_expiry(
        ctx,
        owner_kind=kind,
        now=now,
        expires_in=expires_in,
        expires_at=expires_at,
        no_expiry=no_expiry,
    )
    async with ctx.db.transaction() as session:
        owner = await _owner(session, kind=kind, label=label)
        if not owner.active:
            raise Conflict(f"{kind} {owner.name} is inactive: activate it before issuing keys")
        issued = await _issue(
            session,
            ctx,
            owner=owner,
            name=clean_name,
            scopes=clean_scopes,
            expires_at=expiry,
            now=now,
        )
        audit.record(
            session,
            ctx,
            action="key.create",
            target_type="key",
            target_id=issued.key.id,
            target=issued.key.display_prefix,
            details=_audit_details(issued),
        )
    return issued


async def _issue(
    session: AsyncSession,
    ctx: ServiceContext,
    *,
    owner: Owner,
    name: str | None,
    scopes: list[str],
    expires_at: datetime | None,
    now: datetime,
    rotated_from: int | None = None,
) -> IssuedKey:
    raw = generate_key(ctx.settings.api_keys.prefix)
    key = ApiKey(
        user_id=owner.id if owner.kind == "user" else None,
        service_account_id=owner.id if owner.kind == "account" else None,
        name=name,
        digest=digest(raw, _pepper(ctx)),
        display_prefix=display_prefix(raw),
        scopes=scopes,
        created_at=now,
        expires_at=expires_at,
        rotated_from_id=rotated_from,
    )
    repo.add(session, key)
    await session.flush()
    return IssuedKey(key=key, owner=owner, raw=raw)


def _audit_details(issued: IssuedKey) -> dict[str, Any]:
    key = issued.key
    return {
        "owner": f"{issued.owner.kind}:{issued.owner.name}",
        "name": key.name,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at.isoformat(timespec="seconds") if key.expires_at else None,
    }


# -- read -----------------------------------------------------------------------------------------


async def get_key(ctx: ServiceContext, *, key_id: int) -> KeyDetails:
    async with ctx.db.transaction(write=False) as session:
        key = await _require(session, key_id)
        owner = await _owner_of(session, key)
        successor = await repo.get_successor(session, key_id=key.id)
    status = key_status(
        now=utcnow(),
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
        owner_active=owner.active,
    )
    return KeyDetails(key=key, owner=owner, status=status, replaced_by=successor)


@asynccontextmanager
async def list_keys(
    ctx: ServiceContext,
    *,
    user: str | None = None,
    account: str | None = None,
    include_all: bool = False,
) -> AsyncIterator[AsyncIterator[Mapping[str, Any]]]:
    """Stream keys in id order; revoked and expired ones only with ``include_all``."""
    if user is not None and account is not None:
        raise InvalidInput("give at most one of --user and --account")
    now = utcnow()
    user_id = account_id = None
    async with ctx.db.transaction(write=False) as session:
        if user is not None:
            user_id = (await _owner(session, kind="user", label=normalize_email(user))).id
        if account is not None:
            account_id = (
                await _owner(session, kind="account", label=normalize_account_name(account))
            ).id
    query = repo.list_query(
        now=now, user_id=user_id, account_id=account_id, include_all=include_all
    )
    async with ctx.stream(query) as rows:

        async def with_status() -> AsyncIterator[Mapping[str, Any]]:
            async for row in rows:
                active = bool(row["owner_active"])
                status = key_status(
                    now=now,
                    revoked_at=row["revoked_at"],
                    expires_at=row["expires_at"],
                    owner_active=active,
                )
                yield {**row, "owner_active": active, "status": status}

        yield with_status()


# -- change ---------------------------------------------------------------------------------------


async def revoke_key(ctx: ServiceContext, *, key_id: int) -> Change[ApiKey]:
    """Revoke at once; "unchanged" when it already was."""
    async with ctx.db.transaction() as session:
        key = await _require(session, key_id, for_update=True)
        if key.revoked_at is not None:
            return Change(key, changed=False)
        key.revoked_at = utcnow()
        audit.record(
            session,
            ctx,
            action="key.revoke",
            target_type="key",
            target_id=key.id,
            target=key.display_prefix,
        )
    return Change(key, changed=True)


async def rotate_key(ctx: ServiceContext, *, key_id: int, grace: str | None = None) -> Rotation:
    """Issue a replacement (same owner, name, scopes and lifetime); the old key stops working
    at once, or when ``grace`` (e.g. ``24h``) has passed."""
    window = parse_duration(grace, what="--grace") if grace is not None else None
    now = utcnow()
    try:
        async with ctx.db.transaction() as session:
            old = await _require(session, key_id, for_update=True)
            owner = await _owner_of(session, old)
            status = key_status(
                now=now,
                revoked_at=old.revoked_at,
                expires_at=old.expires_at,
                owner_active=owner.active,
            )
            if status != "active":
                raise Conflict(f"key {old.id} cannot be rotated: it is {status}")
            if (successor := await repo.get_successor(session, key_id=old.id)) is not None:
                raise Conflict(f"key {old.id} was already rotated (replaced by key {successor})")
            lifetime = old.expires_at - old.created_at if old.expires_at else None
            new = await _issue(
                session,
                ctx,
                owner=owner,
                name=old.name,
                scopes=list(old.scopes),
                expires_at=now + lifetime if lifetime else None,
                now=now,
                rotated_from=old.id,
            )
            if window:
                ends = now + window
                old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
            else:
                old.revoked_at = now
            audit.record(
                session,
                ctx,
                action="key.rotate",
                target_type="key",
                target_id=old.id,
                target=old.display_prefix,
                details={
                    "new_key_id": new.key.id,
                    "new_key": new.key.display_prefix,
                    "grace": grace,
                    "old_key_ends": (old.revoked_at or old.expires_at or now).isoformat(
                        timespec="seconds"
                    ),
                },
            )
    except IntegrityError:  # pragma: no cover - a digest collision: 2**-190
        raise Conflict("could not issue a unique key; try again") from None
    return Rotation(old=old, new=new)


# -- authenticate ---------------------------------------------------------------------------------


async def authenticate(ctx: ServiceContext, raw_key: str) -> Principal:
    """The one entry point for the web app: who does this key belong to, and with what scopes.

    Format and checksum are checked first (MalformedKey, no query). Then one indexed lookup by
    digest, a constant-time compare, and the checks for revocation, expiry and the owner's
    active flag. Every well-formed failure raises KeyRejected with the same message; only its
    ``reason`` differs. ``last_used_at`` is written at most once per
    ``api_keys.last_used_resolution``, so most verifications are reads only.
    """
    parsed = parse_key(raw_key)
    wanted = digest(parsed.value, _pepper(ctx))
    now = utcnow()
    row = await ctx.db.read_first(repo.lookup_query(), {"digest": wanted})
    if row is None or not hmac.compare_digest(row["digest"], wanted):
        raise KeyRejected("unknown")
    if row["revoked_at"] is not None:
        raise KeyRejected("revoked")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise KeyRejected("expired")
    is_user = row["user_id"] is not None
    if not (row["user_active"] if is_user else row["account_active"]):
        raise KeyRejected("owner inactive")
    resolution = ctx.settings.api_keys.last_used_resolution
    last_used = row["last_used_at"]
    if last_used is None or last_used < now - resolution:
        await _touch(ctx, key_id=row["id"], now=now, stale_before=now - resolution)
    return Principal(
        kind="user" if is_user else "account",
        id=row["user_id"] if is_user else row["service_account_id"],
        name=row["email"] if is_user else row["account_name"],
        role=row["role"] if is_user else None,
        key_id=row["id"],
        scopes=tuple(row["scopes"] or ()),
    )


async def _touch(
    ctx: ServiceContext, *, key_id: int, now: datetime, stale_before: datetime
) -> None:
    """Record use; losing this write (a busy database) must never fail an authentication."""
    try:
        async with ctx.db.transaction() as session:
            await session.execute(
                repo.touch_statement(),
                {"key_id": key_id, "now": now, "stale_before": stale_before},
            )
    except Exception as error:
        log.warning("could not record the use of API key %s: %s", key_id, type(error).__name__)


# -- helpers --------------------------------------------------------------------------------------


def _pepper(ctx: ServiceContext) -> bytes | None:
    pepper = ctx.settings.api_keys.pepper
    return pepper.get_secret_value().encode() if pepper else None


async def _require(session: AsyncSession, key_id: int, *, for_update: bool = False) -> ApiKey:
    key = await repo.get(session, key_id=key_id, for_update=for_update)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    return key


async def _owner(session: AsyncSession, *, kind: OwnerKind, label: str) -> Owner:
    if kind == "user":
        user = await users_repo.get_by_email(session, email=label)
        if user is None:
            raise NotFound(f"no user {label}")
        return _user_owner(user)
    account = await accounts_repo.get_by_name(session, name=label)
    if account is None:
        raise NotFound(f"no service account {label}")
    return _account_owner(account)


async def _owner_of(session: AsyncSession, key: ApiKey) -> Owner:
    if key.user_id is not None:
        user = await session.get(User, key.user_id)
        assert user is not None  # the foreign key guarantees it
        return _user_owner(user)
    account = await session.get(ServiceAccount, key.service_account_id)
    assert account is not None
    return _account_owner(account)


def _user_owner(user: User) -> Owner:
    return Owner(kind="user", id=user.id, name=user.email, active=user.is_active)


def _account_owner(account: ServiceAccount) -> Owner:
    return Owner(kind="account", id=account.id, name=account.name, active=account.is_active)
