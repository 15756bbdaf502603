"""Domain values, names: the exact canonical form of an email address and of a service account
name, and the exact message each is refused with, at every limit and one past it.

Pure: no database, no settings. The mutation run of ``backend.app.domain`` executes this file
(with ``test_domain_text.py`` and ``test_domain_choices.py``) once per mutant, so it must stay
fast.
"""

from __future__ import annotations

import pytest

from backend.app.domain import AccountName, Email
from tests.unit.refusals import as_flag, echoed, refusal

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
