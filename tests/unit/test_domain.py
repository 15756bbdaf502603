"""Domain values: the exact normalised form each parser returns, and the exact message it refuses
with, at every limit and one past it.

Pure: no database, no settings. The mutation run of ``backend.app.domain`` executes this file
once per mutant, so it must stay fast.
"""

from __future__ import annotations

from enum import StrEnum

import pytest

from backend.app.domain import (
    AccountName,
    Email,
    KeyStatus,
    OwnerKind,
    Role,
    StatusFilter,
    parse_count,
    parse_enum,
    parse_id,
    parse_scopes,
    parse_text,
)
from backend.app.errors import AppError, InvalidInput

# 63 is the longest DNS label; these make addresses of an exact total length.
LOCAL_64 = "l" * 64
DOMAIN_189 = "a" * 63 + "." + "b" * 63 + "." + "c" * 58 + ".co"  # with "@" and LOCAL_64: 254
ASCII_254 = f"{LOCAL_64}@{DOMAIN_189}"
ASCII_255 = f"{LOCAL_64}@{DOMAIN_189}m"
# "üüüüüüüüüü" is 10 characters, and 16 in its IDNA form "xn--tdaaaaaaaaaa".
IDNA_LABEL = "ü" * 10
IDNA_254 = f"{LOCAL_64}@{'.'.join([IDNA_LABEL] * 11)}.co"  # 188 characters typed
IDNA_255 = f"{LOCAL_64}@{'.'.join([IDNA_LABEL] * 11)}.com"  # 189 characters typed
SPECIALS = "!#$%&'*+/=?^_`{|}~-"


def refusal(call: object, *args: object, **kwargs: object) -> InvalidInput:
    """The InvalidInput that ``call(*args, **kwargs)`` raises."""
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert caught.value.exit_code == 2
    return caught.value


def as_flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def echoed(value: str) -> str:
    """How a message echoes an input: quoted, and past 60 characters cut with an ellipsis."""
    return repr(value if len(value) <= 60 else value[:60] + "...")


def test_the_long_addresses_used_here_have_the_lengths_their_names_say() -> None:
    lengths = [len(ASCII_254), len(ASCII_255), len(IDNA_254), len(IDNA_255)]
    assert lengths == [254, 255, 188, 189]


# -- Email ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("dev@example.com", "dev@example.com"),
        ("  John.Doe@Example.COM \n", "john.doe@example.com"),
        ("dev@example.com.", "dev@example.com"),
        ("dev@example.com..", "dev@example.com"),
        ("dev@Bücher.Example", "dev@xn--bcher-kva.example"),
        ("dev@bücher.example.", "dev@xn--bcher-kva.example"),
        (f"{SPECIALS}@example.com", f"{SPECIALS}@example.com"),
        ("first.middle.last@example.com", "first.middle.last@example.com"),
        ("x@a.io", "x@a.io"),
        ("x@123.example", "x@123.example"),
        ("x@a-b.c-d.example", "x@a-b.c-d.example"),
        ("x@example.c0m", "x@example.c0m"),
        (f"x@{'d' * 63}.example", f"x@{'d' * 63}.example"),
        (f"{LOCAL_64}@example.com", f"{LOCAL_64}@example.com"),
        (ASCII_254, ASCII_254),
        (f"  {ASCII_254}  ", ASCII_254),
        (IDNA_254, f"{LOCAL_64}@{'.'.join(['xn--tdaaaaaaaaaa'] * 11)}.co"),
    ],
    ids=[
        "plain",
        "trimmed-and-lower-cased",
        "trailing-dot-dropped",
        "trailing-dots-dropped",
        "idna-domain",
        "idna-domain-with-trailing-dot",
        "every-special-character-of-a-dot-atom",
        "dots-between-atoms",
        "one-letter-labels",
        "numeric-first-label",
        "inner-hyphens",
        "tld-with-a-digit",
        "63-character-label",
        "64-character-local-part",
        "254-characters",
        "254-characters-once-trimmed",
        "254-characters-once-in-idna-form",
    ],
)
def test_an_email_is_stored_in_one_canonical_form(typed: str, stored: str) -> None:
    email = Email.parse(typed)
    assert email == stored
    assert type(email) is Email


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("example.com", "expected name@domain"),
        ("@example.com", "expected name@domain"),
        ("dev@", "expected name@domain"),
        ("@", "expected name@domain"),
        ("", "expected name@domain"),
        ("   ", "expected name@domain"),
        (".dev@example.com", "bad characters before the @"),
        ("dev.@example.com", "bad characters before the @"),
        ("d..ev@example.com", "bad characters before the @"),
        ('"dev"@example.com', "bad characters before the @"),
        ('"d ev"@example.com', "bad characters before the @"),
        ("dev@x@example.com", "bad characters before the @"),
        ("dév@example.com", "bad characters before the @"),
        ("d(comment)ev@example.com", "bad characters before the @"),
        ("dev@localhost", "bad domain"),
        ("dev@localhost.", "bad domain"),
        ("dev@.", "bad domain"),
        ("dev@example..com", "bad domain"),
        ("dev@.example.com", "bad domain"),
        ("dev@-example.com", "bad domain"),
        ("dev@example-.com", "bad domain"),
        ("dev@exa_mple.com", "bad domain"),
        ("dev@exa mple.com", "bad domain"),
        (f"dev@{'d' * 64}.example", "bad domain"),
        ("dev@1.2.3.4", "bad domain"),
        ("dev@example.123", "bad domain"),
        ("dev@[127.0.0.1]", "bad domain"),
        ("dev@.ü.example", "bad domain"),
        (f"dev@{'ü' * 64}.example", "bad domain"),
        ("dev@ü", "bad domain"),
        (f"{LOCAL_64}l@example.com", "longer than 64 characters before the @"),
    ],
    ids=[
        "no-at-sign",
        "nothing-before-the-at",
        "nothing-after-the-at",
        "only-an-at",
        "empty",
        "blank",
        "leading-dot",
        "trailing-dot-before-the-at",
        "two-dots-in-a-row",
        "quoted-local-part",
        "quoted-local-part-with-a-space",
        "two-at-signs",
        "non-ascii-local-part",
        "comment",
        "single-label-domain",
        "single-label-domain-with-a-dot",
        "only-a-dot",
        "empty-label",
        "leading-empty-label",
        "label-starting-with-a-hyphen",
        "label-ending-with-a-hyphen",
        "underscore",
        "space",
        "64-character-label",
        "ip-address",
        "numeric-tld",
        "address-literal",
        "idna-with-an-empty-label",
        "idna-label-too-long",
        "idna-single-label",
        "65-character-local-part",
    ],
)
def test_an_email_is_refused_with_its_reason(typed: str, reason: str) -> None:
    assert refusal(Email.parse, typed).message == f"invalid email {echoed(typed)}: {reason}"


@pytest.mark.parametrize(
    "typed",
    [ASCII_255, f"{ASCII_254}.", IDNA_255],
    ids=["255-characters", "254-characters-and-a-trailing-dot", "255-characters-in-idna-form"],
)
def test_an_email_over_254_characters_is_refused_as_typed_and_as_stored(typed: str) -> None:
    message = refusal(Email.parse, typed).message
    assert message == f"invalid email {echoed(typed)}: longer than 254 characters"


def test_an_email_error_names_no_field_and_renders_unchanged() -> None:
    error = refusal(Email.parse, "nope")
    assert error.field is None
    assert error.render(as_flag) == str(error) == "invalid email 'nope': expected name@domain"


# -- AccountName ----------------------------------------------------------------------------------

ACCOUNT_RULE = (
    "use 1-64 lower-case letters, digits and hyphens, starting and ending with a letter or digit "
    "(e.g. ci-deploy)"
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ci", "ci"),
        (" CI-Deploy\t", "ci-deploy"),
        ("a", "a"),
        ("7", "7"),
        ("a-b", "a-b"),
        ("a--b", "a--b"),
        ("0" * 64, "0" * 64),
        ("a" + "-" * 62 + "z", "a" + "-" * 62 + "z"),
    ],
    ids=[
        "plain",
        "trimmed-and-lower-cased",
        "one-letter",
        "one-digit",
        "inner-hyphen",
        "two-hyphens",
        "64-characters",
        "64-characters-mostly-hyphens",
    ],
)
def test_an_account_name_is_a_lower_case_slug(typed: str, stored: str) -> None:
    name = AccountName.parse(typed)
    assert name == stored
    assert type(name) is AccountName


@pytest.mark.parametrize(
    "typed",
    ["", "  ", "-", "-ci", "ci-", "ci_deploy", "ci.deploy", "ci deploy", "çi", "a" * 65, "a/b"],
    ids=[
        "empty",
        "blank",
        "hyphen",
        "leading-hyphen",
        "trailing-hyphen",
        "underscore",
        "dot",
        "space",
        "non-ascii",
        "65-characters",
        "slash",
    ],
)
def test_an_account_name_that_is_not_a_slug_is_refused(typed: str) -> None:
    expected = f"invalid account name {echoed(typed)}: "
    assert refusal(AccountName.parse, typed).message == expected + ACCOUNT_RULE


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


# -- free text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (None, None),
        ("", None),
        ("  \t\n ", None),
        ("laptop", "laptop"),
        ("  my laptop \n", "my laptop"),
        ("Zoë🔑", "Zoë🔑"),
        ("x" * 9, "x" * 9),
        (" " + "x" * 9 + " ", "x" * 9),
    ],
    ids=[
        "none",
        "empty",
        "blank",
        "plain",
        "trimmed-inner-space-kept",
        "unicode",
        "at-the-limit",
        "at-the-limit-once-trimmed",
    ],
)
def test_free_text_is_trimmed_and_blank_means_none(typed: str | None, expected: str | None) -> None:
    assert parse_text(typed, field="name", limit=9) == expected


@pytest.mark.parametrize(
    ("typed", "limit", "message", "rendered"),
    [
        ("x" * 6, 5, "{field} is longer than 5 characters", "--name is longer than 5 characters"),
        (
            "x" * 201,
            200,
            "{field} is longer than 200 characters",
            "--name is longer than 200 characters",
        ),
        ("a\tb", 5, "{field} contains control characters", "--name contains control characters"),
        ("a\x00", 5, "{field} contains control characters", "--name contains control characters"),
        (
            "a\u200bb",
            5,
            "{field} contains control characters",
            "--name contains control characters",
        ),
    ],
    ids=["one-over-the-limit", "one-over-200", "tab", "nul", "zero-width-space"],
)
def test_free_text_too_long_or_with_control_characters_is_refused_naming_the_field(
    typed: str, limit: int, message: str, rendered: str
) -> None:
    error = refusal(parse_text, typed, field="name", limit=limit)
    assert (error.message, error.field) == (message, "name")
    assert error.render(as_flag) == rendered
    assert str(error) == rendered.removeprefix("--")


# -- scopes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ([], ()),
        (("users:read",), ("users:read",)),
        (["*"], ("*",)),
        (["users:write,users:read"], ("users:read", "users:write")),
        ([" Users:Read , keys:write", "users:read"], ("keys:write", "users:read")),
        (["b", "a", "b", "A"], ("a", "b")),
        (["a1_.:-z"], ("a1_.:-z",)),
        (["x" * 64], ("x" * 64,)),
        (["z", "*"], ("*", "z")),
    ],
    ids=[
        "none",
        "one",
        "star",
        "comma-separated-and-sorted",
        "trimmed-lower-cased-and-de-duplicated",
        "duplicates-across-values",
        "every-allowed-character",
        "64-characters",
        "star-sorts-first",
    ],
)
def test_scopes_are_validated_de_duplicated_and_sorted(
    typed: list[str] | tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert parse_scopes(typed) == expected


@pytest.mark.parametrize(
    ("typed", "scope"),
    [
        ([""], ""),
        (["users:read,"], ""),
        (["a,,b"], ""),
        (["1users"], "1users"),
        (["_users"], "_users"),
        (["users read"], "users read"),
        (["users/read"], "users/read"),
        (["**"], "**"),
        (["users:*"], "users:*"),
        (["x" * 65], "x" * 65),
        (["ok", " Bad Scope "], "bad scope"),
    ],
    ids=[
        "empty",
        "trailing-comma",
        "empty-between-commas",
        "leading-digit",
        "leading-underscore",
        "space",
        "slash",
        "double-star",
        "star-inside",
        "65-characters",
        "echoed-as-normalised",
    ],
)
def test_a_malformed_scope_is_refused_naming_it(typed: list[str], scope: str) -> None:
    expected = (
        f"invalid scope {echoed(scope)}: use lower-case "
        "letters, digits and _.:- (e.g. users:read), or *"
    )
    assert refusal(parse_scopes, typed).message == expected


def test_64_distinct_scopes_are_accepted_and_duplicates_do_not_count() -> None:
    scopes = [f"s{n:02d}" for n in range(64)]
    assert parse_scopes([*scopes, "s00", "S63"]) == tuple(scopes)


def test_65_distinct_scopes_are_refused() -> None:
    error = refusal(parse_scopes, [",".join(f"s{n:02d}" for n in range(65))])
    assert error.message == "at most 64 scopes per key"


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
