"""`services.keys`, a key's status and expiry: the first reason a key does not work, results
that cannot be changed afterwards, and the expiry a new key gets (the default per owner kind,
or one given, refused in the past or over 100 years ahead).

Part of the mutation run of ``backend.app.services.keys`` (see ``test_keys_service_issuing.py``).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.app.core.durations import MAX_DURATION
from backend.app.domain import KeyStatus, OwnerKind
from backend.app.errors import InvalidInput
from backend.app.models import ApiKey
from backend.app.services import keys as service
from backend.app.services.context import ServiceContext
from backend.app.services.principals import Owner
from tests.fixtures.keys_service import (
    ACCOUNT_DEFAULT,
    DAY,
    T0,
    Contexts,
    clock,
    contexts,
    ctx,
    template,
)

__all__ = ["clock", "contexts", "ctx", "template"]  # fixtures, taken by name

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
