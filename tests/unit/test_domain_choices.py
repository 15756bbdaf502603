"""Domain values, closed sets: the enums (roles, statuses, owner kinds) and their parsing, counts
within their bounds and ids of at most 18 digits, each with the exact message it is refused
with; and how a message without a ``{field}`` placeholder renders.

Pure: no database, no settings. Part of the mutation run of ``backend.app.domain`` (see
``test_domain_names.py``), so it must stay fast.
"""

from __future__ import annotations

from enum import StrEnum

import pytest

from backend.app.domain import (
    KeyStatus,
    OwnerKind,
    Role,
    StatusFilter,
    parse_count,
    parse_enum,
    parse_id,
)
from backend.app.errors import AppError
from tests.unit.refusals import as_flag, refusal

# -- enums ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (Role, ["admin", "member"]),
        (StatusFilter, ["active", "inactive", "all"]),
        (OwnerKind, ["user", "account"]),
        (KeyStatus, ["active", "revoked", "expired", "owner inactive"]),
    ],
    ids=["role", "status-filter", "owner-kind", "key-status"],
)
def test_each_enum_has_exactly_these_values_in_this_order(
    kind: type[StrEnum], values: list[str]
) -> None:
    assert [member.value for member in kind] == values
    assert [str(member) for member in kind] == values


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        (Role, "admin", Role.ADMIN),
        (Role, " MEMBER ", Role.MEMBER),
        (StatusFilter, "All", StatusFilter.ALL),
        (OwnerKind, "account\n", OwnerKind.ACCOUNT),
        (KeyStatus, "Owner Inactive", KeyStatus.OWNER_INACTIVE),
    ],
    ids=["exact", "trimmed-upper-case", "mixed-case", "trailing-newline", "with-a-space"],
)
def test_an_enum_is_parsed_ignoring_case_and_surrounding_space(
    kind: type[StrEnum], typed: str, expected: StrEnum
) -> None:
    assert parse_enum(kind, typed, field="choice") is expected


@pytest.mark.parametrize(
    ("kind", "field", "typed", "message"),
    [
        (Role, "role", "owner", "invalid role 'owner': use one of admin, member"),
        (Role, "role", "", "invalid role '': use one of admin, member"),
        (
            StatusFilter,
            "status",
            " act ",
            "invalid status ' act ': use one of active, inactive, all",
        ),
        (OwnerKind, "owner kind", "users", "invalid owner kind 'users': use one of user, account"),
        (
            KeyStatus,
            "key status",
            "owner_inactive",
            "invalid key status 'owner_inactive': use one of active, revoked, expired, "
            "owner inactive",
        ),
    ],
    ids=["unknown-role", "empty", "prefix-only-with-spaces", "plural", "underscore-for-space"],
)
def test_an_unknown_choice_lists_every_choice(
    kind: type[StrEnum], field: str, typed: str, message: str
) -> None:
    assert refusal(parse_enum, kind, typed, field=field).message == message


# -- counts and ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "maximum", "expected"),
    [
        ("1", 10_000_000, 1),
        (" 7\n", 10_000_000, 7),
        ("10000000", 10_000_000, 10_000_000),
        ("000000000001", 10_000_000, 1),
        ("5", 5, 5),
    ],
    ids=["one", "trimmed", "the-default-maximum", "12-digits", "a-given-maximum"],
)
def test_a_count_is_a_whole_number_within_its_bounds(
    typed: str, maximum: int, expected: int
) -> None:
    assert parse_count(typed, field="limit", maximum=maximum) == expected


def test_a_count_defaults_to_at_most_ten_million() -> None:
    assert parse_count("10000000", field="limit") == 10_000_000
    error = refusal(parse_count, "10000001", field="limit")
    assert error.message == "{field} must be a whole number from 1 to 10000000"


@pytest.mark.parametrize(
    ("typed", "maximum"),
    [
        ("0", 10_000_000),
        ("10000001", 10_000_000),
        ("6", 5),
        ("-1", 10_000_000),
        ("+1", 10_000_000),
        ("1.0", 10_000_000),
        ("1e3", 10_000_000),
        ("", 10_000_000),
        ("abc", 10_000_000),
        ("0000000000001", 10_000_000),
        ("99999999999999999999", 10_000_000),
        ("²", 10_000_000),
        ("\uff11\uff12", 10_000_000),
        ("٣", 10_000_000),
        ("1_000", 10_000_000),
    ],
    ids=[
        "zero",
        "over-the-default-maximum",
        "over-a-given-maximum",
        "negative",
        "plus-sign",
        "decimal",
        "exponent",
        "empty",
        "letters",
        "13-digits",
        "huge",
        "superscript-digit",
        "fullwidth-digits",
        "arabic-indic-digit",
        "underscore",
    ],
)
def test_a_count_out_of_bounds_or_not_plain_ascii_digits_is_refused(
    typed: str, maximum: int
) -> None:
    error = refusal(parse_count, typed, field="limit", maximum=maximum)
    assert error.message == f"{{field}} must be a whole number from 1 to {maximum}"
    assert error.field == "limit"
    assert error.render(as_flag) == f"--limit must be a whole number from 1 to {maximum}"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("1", 1), (" 42 ", 42), ("007", 7), ("9" * 18, 10**18 - 1)],
    ids=["one", "trimmed", "leading-zeros", "18-digits"],
)
def test_an_id_is_a_positive_number_of_at_most_18_digits(typed: str, expected: int) -> None:
    assert parse_id(typed, what="key") == expected


@pytest.mark.parametrize(
    "typed",
    ["0", "000", "-1", "+1", "", " ", "1.5", "x", "1" + "0" * 18, "0" * 19, "²", "\uff11", "٣"],
    ids=[
        "zero",
        "zeros",
        "negative",
        "plus-sign",
        "empty",
        "blank",
        "decimal",
        "letter",
        "19-digits",
        "19-zeros",
        "superscript-digit",
        "fullwidth-digit",
        "arabic-indic-digit",
    ],
)
def test_an_id_that_is_not_a_positive_number_is_refused_as_typed(typed: str) -> None:
    error = refusal(parse_id, typed, what="user")
    assert error.message == f"invalid user id {typed!r}: expected a positive number"
    assert error.field is None


def test_a_rendered_message_without_a_field_placeholder_is_left_alone() -> None:
    error = AppError("{field} stays", field=None)
    assert error.render(as_flag) == "{field} stays"
    assert AppError("no placeholder", field="limit").render(as_flag) == "no placeholder"
