"""`services.keys` against a real SQLite file: issuing, showing, listing and rotating API keys,
with a clock the test sets, so every stored time and audit detail is pinned exactly.

One migrated file with its owners is made per module and copied for each test: the mutation
run of ``backend.app.services.keys`` executes this file once per mutant.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.app.core import keys as key_format
from backend.app.core.durations import MAX_DURATION
from backend.app.domain import AccountName, Email, KeyStatus, OwnerKind, parse_scopes
from backend.app.errors import Conflict, InvalidInput, NotFound
from backend.app.models import ApiKey, AuditEvent, ServiceAccount
from backend.app.repositories.keys import KeyRepository
from backend.app.services import accounts, principals, revocation, users
from backend.app.services import keys as service
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner, PrincipalName
from backend.app.services.uow import uow
from tests.fixtures.services import ACTOR, context_for, migrate

CI = AccountName("ci")
OPS = AccountName("ops")
DEV = Email("dev@example.com")
GHOST = AccountName("ghost")
T0 = datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ACCOUNT_DEFAULT = timedelta(days=90)  # the shipped api_keys.account_default_expiry
Contexts = Callable[..., ServiceContext]


@dataclass
class Clock:
    """What ``services.keys`` takes for now."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


async def _seed(url: str, root: Path) -> None:
    ctx = context_for(url, root)
    try:
        for name in (CI, OPS):
            await accounts.create_account(ctx, name=name)
        await users.create_user(ctx, email=DEV, password="a-long-enough-test-password")
    finally:
        await ctx.database.finish()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding accounts ci and ops and user dev@example.com."""
    folder = tmp_path_factory.mktemp("keys-service")
    url = f"sqlite+aiosqlite:///{folder / 'template.sqlite'}"
    migrate(url, folder)
    asyncio.run(_seed(url, folder))
    return folder / "template.sqlite"


@pytest.fixture
async def contexts(template: Path, tmp_path: Path) -> AsyncIterator[Contexts]:
    """Contexts on this test's own copy of the template, with extra settings if wanted."""
    target = tmp_path / "app.sqlite"
    shutil.copyfile(template, target)
    made: list[ServiceContext] = []

    def make(**overrides: Any) -> ServiceContext:
        made.append(context_for(f"sqlite+aiosqlite:///{target}", tmp_path, **overrides))
        return made[-1]

    yield make
    for ctx in made:
        await ctx.database.finish()


@pytest.fixture
def ctx(contexts: Contexts) -> ServiceContext:
    return contexts()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(service, "utcnow", clock)
    return clock


async def stored(ctx: ServiceContext, key_id: int) -> ApiKey:
    async with uow(ctx, write=False) as u:
        key = await u.keys.get(key_id)
    assert key is not None
    return key


async def key_events(ctx: ServiceContext) -> list[AuditEvent]:
    async with uow(ctx, write=False) as u:
        query = select(AuditEvent).where(AuditEvent.action.like("key.%")).order_by(AuditEvent.id)
        return list((await u.session.execute(query)).scalars())


async def key_count(ctx: ServiceContext) -> int:
    async with uow(ctx, write=False) as u:
        return len(list((await u.session.execute(select(ApiKey.id))).scalars()))


async def listed(ctx: ServiceContext, **filters: Any) -> list[dict[str, Any]]:
    async with service.list_keys(ctx, **filters) as rows:
        return [dict(row) async for row in rows]


async def owner_id(ctx: ServiceContext, name: PrincipalName) -> int:
    async with uow(ctx, write=False) as u:
        return (await principals.require(u, name)).id


def seconds(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# -- key_status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revoked_at", "expires_at", "owner_active", "status"),
    [
        (None, None, True, KeyStatus.ACTIVE),
        (None, T0 + timedelta(microseconds=1), True, KeyStatus.ACTIVE),
        (None, T0, True, KeyStatus.EXPIRED),
        (None, T0 - DAY, True, KeyStatus.EXPIRED),
        (None, None, False, KeyStatus.OWNER_INACTIVE),
        (None, T0 + DAY, False, KeyStatus.OWNER_INACTIVE),
        (T0 - DAY, None, True, KeyStatus.REVOKED),
        (T0 + DAY, T0 + DAY, True, KeyStatus.REVOKED),
        (T0 - DAY, T0 - DAY, False, KeyStatus.REVOKED),
        (None, T0 - DAY, False, KeyStatus.EXPIRED),
    ],
    ids=[
        "nothing-wrong",
        "expiring-a-microsecond-later",
        "expiring-right-now",
        "expired",
        "owner-inactive",
        "owner-inactive-not-yet-expired",
        "revoked",
        "revoked-whenever-it-was",
        "revoked-before-expired-before-owner-inactive",
        "expired-before-owner-inactive",
    ],
)
def test_a_key_status_names_the_first_reason_it_does_not_work(
    revoked_at: datetime | None, expires_at: datetime | None, owner_active: bool, status: KeyStatus
) -> None:
    found = service.key_status(
        now=T0, revoked_at=revoked_at, expires_at=expires_at, owner_active=owner_active
    )
    assert found is status


def test_what_the_key_service_returns_cannot_be_changed_afterwards() -> None:
    owner = Owner(OwnerKind.ACCOUNT, 1, "ci", True)
    issued = service.IssuedKey(ApiKey(id=2), owner, "bk_raw")
    details = service.KeyDetails(ApiKey(id=1), owner, KeyStatus.ACTIVE, None)
    rotation = service.Rotation(ApiKey(id=1), issued)
    for result, field in ((issued, "raw"), (details, "status"), (rotation, "new")):
        with pytest.raises(FrozenInstanceError):
            setattr(result, field, None)


# -- expiry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "kind", "expires"),
    [
        ({}, OwnerKind.USER, None),
        ({}, OwnerKind.ACCOUNT, T0 + ACCOUNT_DEFAULT),
        ({"user_default_expiry": "30d"}, OwnerKind.USER, T0 + 30 * DAY),
        ({"user_default_expiry": "30d"}, OwnerKind.ACCOUNT, T0 + ACCOUNT_DEFAULT),
        ({"account_default_expiry": "7d"}, OwnerKind.ACCOUNT, T0 + 7 * DAY),
        ({"account_default_expiry": "7d"}, OwnerKind.USER, None),
        ({"account_default_expiry": None}, OwnerKind.ACCOUNT, None),
    ],
    ids=[
        "users-default-to-none",
        "accounts-default-to-90-days",
        "a-user-default-set",
        "a-user-default-leaves-accounts-alone",
        "an-account-default-set",
        "an-account-default-leaves-users-alone",
        "an-account-default-of-none",
    ],
)
def test_the_default_expiry_is_the_lifetime_set_for_the_owner_kind(
    contexts: Contexts, settings: dict[str, Any], kind: OwnerKind, expires: datetime | None
) -> None:
    ctx = contexts(api_keys=settings)
    resolved = service.resolve_expiry(ctx, kind=kind, now=T0, expires=service.DEFAULT_EXPIRY)
    assert resolved == expires


@pytest.mark.parametrize(
    "expires",
    [None, T0 + timedelta(microseconds=1), T0 + DAY, T0 + MAX_DURATION],
    ids=["none", "a-microsecond-ahead", "tomorrow", "exactly-100-years-ahead"],
)
@pytest.mark.parametrize("kind", list(OwnerKind), ids=str)
def test_an_expiry_given_is_kept_as_given(
    ctx: ServiceContext, kind: OwnerKind, expires: datetime | None
) -> None:
    assert service.resolve_expiry(ctx, kind=kind, now=T0, expires=expires) == expires


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (T0, "{field} must be in the future"),
        (T0 - timedelta(microseconds=1), "{field} must be in the future"),
        (T0 - 3650 * DAY, "{field} must be in the future"),
        (T0 + MAX_DURATION + timedelta(microseconds=1), "{field} must be within 100 years"),
        (T0 + 2 * MAX_DURATION, "{field} must be within 100 years"),
    ],
    ids=["now", "a-microsecond-ago", "ten-years-ago", "just-over-100-years", "200-years"],
)
def test_an_expiry_in_the_past_or_over_100_years_ahead_is_refused_naming_expires_at(
    ctx: ServiceContext, expires: datetime, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.resolve_expiry(ctx, kind=OwnerKind.USER, now=T0, expires=expires)
    assert (caught.value.message, caught.value.field) == (message, "expires_at")
    assert caught.value.render(lambda field: "--" + field.replace("_", "-")) == message.replace(
        "{field}", "--expires-at"
    )


# -- issuing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "kind", "subject", "expires"),
    [
        (CI, OwnerKind.ACCOUNT, "account:ci", T0 + ACCOUNT_DEFAULT),
        (DEV, OwnerKind.USER, "user:dev@example.com", None),
    ],
    ids=["account", "user"],
)
async def test_an_issued_key_stores_its_digest_and_prefix_and_returns_the_raw_key_once(
    ctx: ServiceContext,
    clock: Clock,
    owner: PrincipalName,
    kind: OwnerKind,
    subject: str,
    expires: datetime | None,
) -> None:
    scopes = parse_scopes(["users:write,users:read", "keys:read"])
    issued = await service.create_key(ctx, owner=owner, name=" laptop ", scopes=scopes)
    raw, key = issued.raw, await stored(ctx, issued.key.id)

    assert key_format.parse_key(raw).value == raw
    assert raw.startswith("bk_")
    assert key.digest == key_format.digest(raw) == issued.key.digest
    assert key.display_prefix == key_format.display_prefix(raw) == issued.key.display_prefix
    assert (key.user_id is None, key.service_account_id is None) == (
        kind is OwnerKind.ACCOUNT,
        kind is OwnerKind.USER,
    )
    assert (key.user_id or key.service_account_id) == await owner_id(ctx, owner)
    assert (key.name, key.scopes) == ("laptop", ["keys:read", "users:read", "users:write"])
    assert (key.created_at, key.expires_at) == (T0, expires)
    assert (key.revoked_at, key.last_used_at, key.rotated_from_id) == (None, None, None)
    assert issued.owner == Owner(kind, key.user_id or key.service_account_id or 0, owner, True)
    assert repr(issued) == f"IssuedKey(id={key.id}, display_prefix={key.display_prefix!r})"
    assert raw not in repr(issued)

    [event] = await key_events(ctx)
    assert (event.action, event.actor, event.subject) == ("key.create", ACTOR, subject)
    assert (event.target_type, event.target_id, event.target) == (
        "key",
        str(key.id),
        key.display_prefix,
    )
    assert event.details == {
        "owner": subject,
        "name": "laptop",
        "scopes": ["keys:read", "users:read", "users:write"],
        "expires_at": None if expires is None else seconds(expires),
    }
    assert raw not in str(event.details)


async def test_a_key_takes_its_prefix_and_pepper_from_the_settings(
    contexts: Contexts, clock: Clock
) -> None:
    ctx = contexts(api_keys={"prefix": "acme_", "pepper": "pepper-one"})
    issued = await service.create_key(ctx, owner=CI, expires=None)
    key = await stored(ctx, issued.key.id)
    assert issued.raw.startswith("acme_")
    assert key.digest == key_format.digest(issued.raw, b"pepper-one")
    assert key.digest != key_format.digest(issued.raw)
    assert key.expires_at is None


async def test_an_expiry_given_is_stored_and_audited_to_the_second(
    ctx: ServiceContext, clock: Clock
) -> None:
    expires = T0 + timedelta(days=3, microseconds=400)
    issued = await service.create_key(ctx, owner=DEV, expires=expires)
    assert (await stored(ctx, issued.key.id)).expires_at == expires
    [event] = await key_events(ctx)
    assert event.details["expires_at"] == "2027-03-04T12:00:00+00:00"
    assert (event.details["name"], event.details["scopes"]) == (None, [])


async def test_a_name_of_200_characters_is_kept_and_one_more_is_refused(
    ctx: ServiceContext, clock: Clock
) -> None:
    issued = await service.create_key(ctx, owner=CI, name="n" * 200)
    assert (await stored(ctx, issued.key.id)).name == "n" * 200
    with pytest.raises(InvalidInput) as caught:
        await service.create_key(ctx, owner=CI, name="n" * 201)
    assert (caught.value.message, caught.value.field) == (
        "{field} is longer than 200 characters",
        "name",
    )
    assert await key_count(ctx) == 1


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        (OPS, "service account ops is inactive: activate it first"),
        (DEV, "user dev@example.com is inactive: activate it first"),
    ],
    ids=["account", "user"],
)
async def test_an_inactive_owner_gets_no_key(
    ctx: ServiceContext, clock: Clock, owner: PrincipalName, message: str
) -> None:
    await principals.set_active(ctx, owner, active=False)
    with pytest.raises(Conflict) as caught:
        await service.create_key(ctx, owner=owner)
    assert str(caught.value) == message
    assert (await key_count(ctx), await key_events(ctx)) == (0, [])


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        (GHOST, "no service account ghost"),
        (Email("nobody@example.com"), "no user nobody@example.com"),
    ],
    ids=["account", "user"],
)
async def test_a_missing_owner_gets_no_key(
    ctx: ServiceContext, clock: Clock, owner: PrincipalName, message: str
) -> None:
    with pytest.raises(NotFound) as caught:
        await service.create_key(ctx, owner=owner)
    assert str(caught.value) == message


async def test_an_expiry_in_the_past_issues_nothing(ctx: ServiceContext, clock: Clock) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.create_key(ctx, owner=CI, expires=T0 - DAY)
    assert caught.value.field == "expires_at"
    assert (await key_count(ctx), await key_events(ctx)) == (0, [])


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
