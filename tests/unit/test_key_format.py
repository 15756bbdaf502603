"""API key format: prefix, 190 random bits, a CRC32 checksum that rejects a mistyped key before
any query; digests with and without a pepper; nothing prints a key by accident.

Known answers pin the format itself: a change to the alphabet, the checksum or a length would
otherwise pass every round-trip test here and only show when keys issued before an upgrade
stopped parsing after it.
"""

from __future__ import annotations

import math
import string
import zlib

import pytest

from backend.app.core import keys
from backend.app.core.keys import BASE62, ParsedKey, parse_key
from backend.app.core.settings import ApiKeyPolicy
from backend.app.errors import InvalidInput, MalformedKey

# A key written out once by hand: prefix, 32 body characters, then the 6-character checksum.
KNOWN_KEY = "bk_abcdefghijklmnopqrstuvwxyzABCDEF4D3Fhb"
NOT_KEY_SHAPED = "malformed API key: not in the <prefix>_<38 characters> format"
BAD_CHECKSUM = "malformed API key: the checksum does not match (mistyped or truncated)"


def from_base62(text: str) -> int:
    """The inverse of the key format's base62, written independently of it."""
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    return sum(alphabet.index(char) * 62**power for power, char in enumerate(reversed(text)))


def malformed_message(text: str) -> str:
    with pytest.raises(MalformedKey) as caught:
        parse_key(text)
    assert caught.value.exit_code == 2
    return str(caught.value)


def every_single_change(key: str) -> list[str]:
    """Every key that differs from ``key`` in one position, by each other base62 char."""
    return [
        key[:position] + replacement + key[position + 1 :]
        for position, char in enumerate(key)
        for replacement in BASE62
        if replacement != char
    ]


# -- known answers --------------------------------------------------------------------------------


def test_the_base62_alphabet_is_digits_then_upper_then_lower_case_letters() -> None:
    assert BASE62 == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "000000", id="empty-text-has-crc-zero"),
        pytest.param("123456789", "3jZRME", id="the-crc32-check-value-cbf43926"),
        pytest.param(KNOWN_KEY[:-6], KNOWN_KEY[-6:], id="the-known-key"),
        pytest.param("bk_" + "0" * 32, "0fDXsv", id="a-leading-zero-is-kept"),
    ],
)
def test_the_checksum_of_a_fixed_text_is_a_known_answer(text: str, expected: str) -> None:
    assert keys.checksum(text) == expected
    assert from_base62(expected) == zlib.crc32(text.encode())


def test_the_largest_crc32_takes_exactly_six_characters() -> None:
    assert keys._base62(2**32 - 1, keys.CHECKSUM_LENGTH) == "4gfFC3"
    assert from_base62("4gfFC3") == 2**32 - 1


def test_the_known_key_parses_to_its_value_and_prefix() -> None:
    assert parse_key(KNOWN_KEY) == ParsedKey(value=KNOWN_KEY, prefix="bk_")


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        pytest.param(KNOWN_KEY, "bk_abcdefgh", id="bk"),
        pytest.param("acme2_" + KNOWN_KEY[3:], "acme2_abcdefgh", id="longer-prefix"),
    ],
)
def test_the_display_prefix_is_the_prefix_and_eight_characters(key: str, shown: str) -> None:
    assert keys.display_prefix(key) == shown


@pytest.mark.parametrize(
    ("key", "pepper", "expected"),
    [
        pytest.param(
            "abc",
            None,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            id="sha256-of-abc",
        ),
        pytest.param(
            "abc",
            b"",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            id="an-empty-pepper-is-no-pepper",
        ),
        pytest.param(
            "what do ya want for nothing?",
            b"Jefe",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            id="rfc4231-hmac-sha256-case-2",
        ),
    ],
)
def test_the_digest_is_a_known_answer(key: str, pepper: bytes | None, expected: str) -> None:
    assert keys.digest(key, pepper) == expected


def test_the_repr_of_a_parsed_key_shows_only_its_display_prefix() -> None:
    parsed = parse_key(KNOWN_KEY)
    assert repr(parsed) == "ParsedKey(prefix='bk_', display='bk_abcdefgh')"
    assert str(parsed) == repr(parsed)


# -- generate and parse ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["bk_", "acme2_", "a_", "p" * 16 + "_"])
def test_a_generated_key_is_its_prefix_32_characters_and_their_checksum(prefix: str) -> None:
    key = keys.generate_key(prefix)
    assert key.startswith(prefix)
    assert len(key) == len(prefix) + 32 + 6
    assert key[-6:] == keys.checksum(key[:-6])
    assert parse_key(key) == ParsedKey(value=key, prefix=prefix)


def test_a_key_carries_at_least_160_random_bits_in_32_base62_characters() -> None:
    body = keys.generate_key("bk_")[3:-6]
    assert len(body) == keys.BODY_LENGTH == 32
    assert set(body) <= set(BASE62)
    assert keys.BODY_LENGTH * math.log2(len(BASE62)) >= 160


def test_generated_keys_are_all_different_and_use_the_whole_alphabet() -> None:
    generated = {keys.generate_key("bk_") for _ in range(2000)}
    assert len(generated) == 2000
    # 64,000 body characters: the chance that one of the 62 never shows is below 1e-400.
    assert {char for key in generated for char in key[3:-6]} == set(BASE62)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"  {KNOWN_KEY}\n", id="spaces-and-newline"),
        pytest.param(f"\t{KNOWN_KEY}\r\n", id="tab-and-crlf"),
    ],
)
def test_surrounding_whitespace_is_ignored(text: str) -> None:
    assert parse_key(text).value == KNOWN_KEY


def test_every_prefix_the_settings_accept_parses_and_no_longer_one_does() -> None:
    """Changing the configured prefix must not orphan keys: any well-formed prefix parses."""
    longest = ApiKeyPolicy(prefix="a" * 16 + "_").prefix
    assert parse_key(keys.generate_key(longest)).prefix == longest
    with pytest.raises(ValueError, match="prefix"):
        ApiKeyPolicy(prefix="a" * 17 + "_")
    assert malformed_message(keys.generate_key("a" * 17 + "_")) == NOT_KEY_SHAPED


# -- malformed keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("bk_", id="prefix-only"),
        pytest.param("not a key at all", id="prose"),
        pytest.param("B" + KNOWN_KEY[1:], id="upper-case-prefix"),
        pytest.param("bk-" + KNOWN_KEY[3:], id="prefix-without-underscore"),
        pytest.param(KNOWN_KEY[2:], id="no-prefix"),
        pytest.param("1k_" + KNOWN_KEY[3:], id="prefix-starting-with-a-digit"),
        pytest.param(KNOWN_KEY[:-1], id="one-character-short"),
        pytest.param(KNOWN_KEY + "a", id="one-character-long"),
        pytest.param(KNOWN_KEY[:-1] + "!", id="punctuation"),
        pytest.param(KNOWN_KEY[:20] + " " + KNOWN_KEY[21:], id="inner-space"),
        pytest.param(KNOWN_KEY[:20] + "é" + KNOWN_KEY[21:], id="non-ascii"),
        pytest.param("Bearer " + KNOWN_KEY, id="bearer-header"),
        pytest.param(KNOWN_KEY + "\n" + KNOWN_KEY, id="two-keys"),
    ],
)
def test_text_that_is_not_key_shaped_is_malformed(text: str) -> None:
    assert malformed_message(text) == NOT_KEY_SHAPED


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(KNOWN_KEY[:-1] + "c", id="last-checksum-character"),
        pytest.param("bk_b" + KNOWN_KEY[4:], id="first-body-character"),
        pytest.param("bx_" + KNOWN_KEY[3:], id="prefix-character"),
        pytest.param(KNOWN_KEY[:-6] + "000000", id="zero-checksum"),
    ],
)
def test_a_key_with_a_wrong_checksum_is_malformed(text: str) -> None:
    assert malformed_message(text) == BAD_CHECKSUM


def test_a_malformed_key_is_invalid_input() -> None:
    assert issubclass(MalformedKey, InvalidInput)


def test_changing_any_single_character_of_a_key_makes_it_malformed() -> None:
    for prefix in ("bk_", "acme2_"):
        key = keys.generate_key(prefix)
        variants = every_single_change(key)
        assert len(set(variants)) == len(key) * len(BASE62) - (len(key) - 1)
        for variant in variants:
            with pytest.raises(MalformedKey):
                parse_key(variant)


def test_swapping_two_neighbouring_characters_makes_a_key_malformed() -> None:
    key = keys.generate_key("bk_")
    for position in range(len("bk_"), len(key) - 1):
        swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
        if swapped != key:
            with pytest.raises(MalformedKey):
                parse_key(swapped)


def test_a_malformed_key_message_never_contains_the_key() -> None:
    key = keys.generate_key("bk_")
    for text in (key[:-1], key[:-1] + ("0" if key[-1] != "0" else "1")):
        message = malformed_message(text)
        assert text not in message
        assert text[3:20] not in message


# -- nothing prints a key by accident -------------------------------------------------------------


def test_the_repr_of_a_parsed_key_never_contains_the_secret_part() -> None:
    key = keys.generate_key("bk_")
    parsed = parse_key(key)
    for text in (repr(parsed), str(parsed), f"{parsed}", f"{parsed!r}", repr([parsed])):
        assert key not in text
        assert key[11:] not in text  # not even the secret part past the display prefix
        assert keys.display_prefix(key) in text


def test_a_parsed_key_is_a_frozen_value() -> None:
    parsed = parse_key(KNOWN_KEY)
    with pytest.raises(AttributeError):
        parsed.value = "changed"  # type: ignore[misc]


def test_the_pepper_setting_never_shows_in_a_repr() -> None:
    policy = ApiKeyPolicy(pepper="pepper-value-123")
    assert "pepper-value-123" not in repr(policy)
    assert policy.pepper is not None
    assert policy.pepper.get_secret_value() == "pepper-value-123"
    assert ApiKeyPolicy().pepper is None
