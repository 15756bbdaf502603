"""`services.keys` against a real SQLite file, issuing: what an issued key stores and audits,
with a clock the test sets so that every stored time and audit detail is pinned exactly, and
the keys refused (a name too long, an inactive or missing owner, an expiry in the past).

The mutation run of ``backend.app.services.keys`` executes this file with
``test_keys_service_status.py``, ``test_keys_service_listing.py`` and
``test_keys_service_rotating.py`` once per mutant (fixtures in ``tests/fixtures/keys_service.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.app.core import keys as key_format
from backend.app.domain import Email, OwnerKind, parse_scopes
from backend.app.errors import Conflict, InvalidInput, NotFound
from backend.app.services import keys as service
from backend.app.services import principals
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner, PrincipalName
from tests.fixtures.keys_service import (
    ACCOUNT_DEFAULT,
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
    key_count,
    key_events,
    owner_id,
    seconds,
    stored,
    template,
)
from tests.fixtures.services import ACTOR

__all__ = ["clock", "contexts", "ctx", "template"]  # fixtures, taken by name

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
