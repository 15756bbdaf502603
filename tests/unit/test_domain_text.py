"""Domain values, text: free text (names, descriptions) trimmed, bounded and free of control
characters, and scopes validated, de-duplicated and sorted; the exact refusal at every limit and
one past it.

Pure: no database, no settings. Part of the mutation run of ``backend.app.domain`` (see
``test_domain_names.py``), so it must stay fast.
"""

from __future__ import annotations

import pytest

from backend.app.domain import parse_scopes, parse_text
from tests.unit.refusals import as_flag, echoed, refusal

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
