"""The safety guards: which profiles ask before a destructive action, and which databases refuse
one whatever is confirmed.

Pure: settings are built in memory. The mutation run of ``backend.app.core.guards`` executes
this file once per mutant.
"""

from __future__ import annotations

import pytest

from backend.app.core.guards import (
    ALLOW_DESTRUCTIVE,
    confirmation_needed,
    require_confirmation,
    require_unprotected,
)
from backend.app.core.settings import Settings
from backend.app.errors import ConfirmationRequired, Refused
from backend.app.repositories.schema import Stamp

ASKS = [(False, False, False), (True, False, True), (False, True, True), (True, True, True)]
ASKS_IDS = ["neither", "confirm-destructive", "protected", "both"]


def settings(*, confirm_destructive: bool, protected: bool) -> Settings:
    return Settings(confirm_destructive=confirm_destructive, protected=protected)


@pytest.mark.parametrize(("confirm_destructive", "protected", "asks"), ASKS, ids=ASKS_IDS)
def test_a_profile_asks_when_it_says_so_or_is_protected(
    confirm_destructive: bool, protected: bool, asks: bool
) -> None:
    chosen = settings(confirm_destructive=confirm_destructive, protected=protected)
    assert confirmation_needed(chosen) is asks


@pytest.mark.parametrize(("confirm_destructive", "protected", "asks"), ASKS, ids=ASKS_IDS)
def test_a_confirmed_action_always_goes_ahead(
    confirm_destructive: bool, protected: bool, asks: bool
) -> None:
    chosen = settings(confirm_destructive=confirm_destructive, protected=protected)
    require_confirmation(chosen, confirmed=True, what="dropping everything")


@pytest.mark.parametrize(("confirm_destructive", "protected", "asks"), ASKS, ids=ASKS_IDS)
def test_an_unconfirmed_action_is_refused_only_where_the_profile_asks(
    confirm_destructive: bool, protected: bool, asks: bool
) -> None:
    chosen = settings(confirm_destructive=confirm_destructive, protected=protected)
    if not asks:
        require_confirmation(chosen, confirmed=False, what="dropping everything")
        return
    with pytest.raises(ConfirmationRequired) as caught:
        require_confirmation(chosen, confirmed=False, what="dropping everything")
    assert str(caught.value) == "dropping everything is destructive and was not confirmed"
    assert (caught.value.exit_code, caught.value.hint) == (5, "confirm")


@pytest.mark.parametrize(
    ("stamp", "allow_destructive"),
    [
        (None, False),
        (None, True),
        (Stamp("dev", protected=False), False),
        (Stamp("prod", protected=False), False),
        (Stamp("dev", protected=False), True),
        (Stamp("prod", protected=True), True),
    ],
    ids=[
        "never-migrated",
        "never-migrated-and-allowed",
        "unprotected",
        "unprotected-whatever-its-name",
        "unprotected-and-allowed",
        "protected-and-allowed",
    ],
)
def test_a_database_that_is_unprotected_or_explicitly_allowed_may_be_destroyed(
    stamp: Stamp | None, allow_destructive: bool
) -> None:
    require_unprotected(stamp, allow_destructive=allow_destructive, what="a reset")


@pytest.mark.parametrize("profile", ["prod", "staging"], ids=["prod", "any-protected-profile"])
def test_a_protected_database_refuses_destruction_naming_its_profile_and_the_override(
    profile: str,
) -> None:
    with pytest.raises(Refused) as caught:
        require_unprotected(Stamp(profile, protected=True), allow_destructive=False, what="a reset")
    assert str(caught.value) == (
        f"a reset refused: the database was migrated under the protected profile '{profile}'; "
        "confirming is not enough, set APP_ALLOW_DESTRUCTIVE=1 as well if you really mean it"
    )
    assert type(caught.value) is Refused
    assert caught.value.exit_code == 5


def test_the_override_is_the_environment_switch_that_enables_it() -> None:
    assert ALLOW_DESTRUCTIVE == "APP_ALLOW_DESTRUCTIVE=1"
