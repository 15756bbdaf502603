"""API key format: prefix, 190 random bits, a CRC32 checksum that rejects a mistyped key
before any query; digests with and without a pepper; nothing prints a key by accident."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.app.core import keys
from backend.app.core.db import Database
from backend.app.core.keys import BASE62, MalformedKey, ParsedKey, parse_key
from backend.app.core.settings import Settings, build_settings
from backend.app.errors import DatabaseUnreachable, SchemaNotReady
from backend.app.models import ApiKey
from backend.app.services import keys as key_service
from backend.app.services.context import ServiceContext

KEY_BODY_AND_CHECKSUM = keys.BODY_LENGTH + keys.CHECKSUM_LENGTH


def one_changed(key: str) -> list[str]:
    """Every key that differs from ``key`` in exactly one position, by another base62 char."""
    variants = []
    for position, char in enumerate(key):
        # Walk the alphabet from the original character so each position gets a different one.
        replacement = BASE62[(BASE62.find(char) + 1 + position) % len(BASE62)]
        if replacement == char:
            replacement = BASE62[(BASE62.find(char) + 2) % len(BASE62)]
        variants.append(key[:position] + replacement + key[position + 1 :])
    return variants


# -- generate and parse ---------------------------------------------------------------------------


def test_a_generated_key_parses_back_to_itself_with_its_prefix() -> None:
    key = keys.generate_key("bk_")
    parsed = parse_key(key)
    assert parsed.value == key
    assert parsed.prefix == "bk_"
    assert len(key) == len("bk_") + KEY_BODY_AND_CHECKSUM


def test_surrounding_whitespace_and_a_trailing_newline_are_ignored() -> None:
    key = keys.generate_key("bk_")
    assert parse_key(f"  {key}\n").value == key


def test_a_key_carries_at_least_160_random_bits_in_32_base62_characters() -> None:
    key = keys.generate_key("bk_")
    body = key[len("bk_") : len("bk_") + keys.BODY_LENGTH]
    assert len(body) == 32
    assert set(body) <= set(BASE62)
    assert keys.BODY_LENGTH * math.log2(len(BASE62)) >= 160


def test_generated_keys_are_all_different() -> None:
    generated = {keys.generate_key("bk_") for _ in range(2000)}
    assert len(generated) == 2000


def test_the_checksum_is_six_base62_characters_of_the_crc32() -> None:
    key = keys.generate_key("bk_")
    assert key[-6:] == keys.checksum(key[:-6])
    assert len(keys.checksum("")) == 6
    assert keys.checksum("bk_" + "z" * 32) != keys.checksum("bk_" + "y" * 32)


def test_the_prefix_comes_from_settings(tmp_path: Path) -> None:
    settings = build_settings(
        profile_values={}, root=tmp_path, overrides={"api_keys": {"prefix": "acme_"}}
    )
    assert settings.api_keys.prefix == "acme_"
    key = keys.generate_key(settings.api_keys.prefix)
    assert key.startswith("acme_")
    assert parse_key(key).prefix == "acme_"


def test_a_key_with_another_well_formed_prefix_still_parses() -> None:
    """Changing the configured prefix must not orphan the keys issued before."""
    old = keys.generate_key("old2_")
    assert parse_key(old).prefix == "old2_"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bk_",
        "bk_short",
        "not a key at all",
        "Bk_" + "a" * 38,  # the prefix starts with a lower-case letter
        "bk-" + "a" * 38,  # the prefix ends with an underscore
        "_" + "a" * 38,  # a prefix is required
        "bk_" + "a" * 37,  # one character short
        "bk_" + "a" * 39,  # one character long
        "bk_" + "a" * 37 + "!",
        "bk_" + "a" * 20 + " " + "a" * 17,
        "bk_" + "é" * 38,
    ],
)
def test_text_that_is_not_key_shaped_is_malformed(text: str) -> None:
    with pytest.raises(MalformedKey) as caught:
        parse_key(text)
    assert caught.value.exit_code == 2


def test_a_key_followed_by_more_text_is_malformed() -> None:
    key = keys.generate_key("bk_")
    for text in (key + "x", key + " " + key, key + "\nextra", "x" + key):
        with pytest.raises(MalformedKey):
            parse_key(text)


def every_single_change(key: str) -> list[str]:
    """Every key that differs from ``key`` in one position, by each other base62 char."""
    return [
        key[:position] + replacement + key[position + 1 :]
        for position, char in enumerate(key)
        for replacement in BASE62
        if replacement != char
    ]


def test_changing_any_single_character_of_a_key_makes_it_malformed() -> None:
    for prefix in ("bk_", "acme2_"):
        key = keys.generate_key(prefix)
        variants = every_single_change(key)
        assert len(set(variants)) == len(key) * len(BASE62) - (len(key) - 1)
        for variant in variants:
            with pytest.raises(MalformedKey) as caught:
                parse_key(variant)
            assert caught.value.exit_code == 2


def test_swapping_two_neighbouring_characters_makes_a_key_malformed() -> None:
    key = keys.generate_key("bk_")
    for position in range(len("bk_"), len(key) - 1):
        swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
        if swapped != key:
            with pytest.raises(MalformedKey):
                parse_key(swapped)


def test_a_malformed_key_message_never_contains_the_key() -> None:
    key = keys.generate_key("bk_")
    for text in (key[:-1], one_changed(key)[10]):
        with pytest.raises(MalformedKey) as caught:
            parse_key(text)
        assert text not in str(caught.value)
        assert text[3:20] not in str(caught.value)


# -- malformed keys never reach the database ------------------------------------------------------


def _context(tmp_path: Path, url: str) -> ServiceContext:
    settings = build_settings(
        profile_values={},
        root=tmp_path,
        overrides={"database_url": url, "database_connect_timeout": 2},
    )
    return ServiceContext(settings, Database(settings), "test-runner")


@pytest.fixture(
    params=[
        "sqlite+aiosqlite:///{tmp}/missing/nothing-here.sqlite",
        # Port 1 on localhost: nothing listens there, the connection is refused at once.
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
    ],
    ids=["missing-sqlite-file", "unreachable-postgresql"],
)
async def dead_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ServiceContext]:
    ctx = _context(tmp_path, str(request.param).format(tmp=tmp_path))
    yield ctx
    await ctx.db.dispose()


async def test_a_well_formed_key_does_reach_the_dead_database(
    dead_database: ServiceContext,
) -> None:
    """The control for the test below: this context really fails once it queries."""
    with pytest.raises((DatabaseUnreachable, SchemaNotReady)):
        await key_service.authenticate(dead_database, keys.generate_key("bk_"))


async def test_a_key_with_one_changed_character_is_rejected_before_any_query(
    dead_database: ServiceContext,
) -> None:
    key = keys.generate_key("bk_")
    for variant in one_changed(key):
        with pytest.raises(MalformedKey):
            await key_service.authenticate(dead_database, variant)
    for text in ("", "garbage", key[:-1]):
        with pytest.raises(MalformedKey):
            await key_service.authenticate(dead_database, text)


# -- digest and display ---------------------------------------------------------------------------


def test_the_digest_is_hex_sha256_and_a_pepper_changes_it() -> None:
    key = keys.generate_key("bk_")
    plain = keys.digest(key)
    peppered = keys.digest(key, b"server-secret")
    other_pepper = keys.digest(key, b"another-secret")
    assert len(plain) == len(peppered) == 64
    assert int(plain, 16) >= 0
    assert len({plain, peppered, other_pepper}) == 3
    assert keys.digest(key) == plain
    assert keys.digest(key, b"server-secret") == peppered
    assert key not in plain + peppered


def test_an_empty_pepper_means_no_pepper() -> None:
    key = keys.generate_key("bk_")
    assert keys.digest(key, b"") == keys.digest(key)


def test_the_pepper_setting_is_a_secret(tmp_path: Path) -> None:
    settings = build_settings(
        profile_values={}, root=tmp_path, overrides={"api_keys": {"pepper": "pepper-value-123"}}
    )
    assert "pepper-value-123" not in repr(settings)
    assert "pepper-value-123" not in str(settings.model_dump(mode="json"))
    assert settings.api_keys.pepper is not None
    assert settings.api_keys.pepper.get_secret_value() == "pepper-value-123"
    assert Settings().api_keys.pepper is None


def test_the_display_prefix_reveals_only_the_prefix_and_eight_characters() -> None:
    for prefix in ("bk_", "acme2_"):
        key = keys.generate_key(prefix)
        shown = keys.display_prefix(key)
        assert shown == key[: len(prefix) + 8]
        assert len(shown) == len(prefix) + keys.DISPLAY_LENGTH


# -- nothing prints a key by accident -------------------------------------------------------------


def test_the_repr_of_a_parsed_key_never_contains_the_key() -> None:
    key = keys.generate_key("bk_")
    parsed = parse_key(key)
    for text in (repr(parsed), str(parsed), f"{parsed}", f"{parsed!r}", repr([parsed])):
        assert key not in text
        assert key[11:] not in text  # not even the secret part past the display prefix
    assert keys.display_prefix(key) in repr(parsed)


def test_the_repr_of_an_issued_key_never_contains_the_key() -> None:
    raw = keys.generate_key("bk_")
    api_key = ApiKey(id=7, digest=keys.digest(raw), display_prefix=keys.display_prefix(raw))
    owner = key_service.Owner(kind="account", id=1, name="ci", active=True)
    issued = key_service.IssuedKey(key=api_key, owner=owner, raw=raw)
    for text in (repr(issued), str(issued), f"{issued}", repr({"issued": issued})):
        assert raw not in text
        assert raw[11:] not in text


def test_the_repr_of_a_rotation_never_contains_the_new_key() -> None:
    raw = keys.generate_key("bk_")
    old = ApiKey(id=6, digest="0" * 64, display_prefix="bk_oldoldol")
    new = ApiKey(id=7, digest=keys.digest(raw), display_prefix=keys.display_prefix(raw))
    owner = key_service.Owner(kind="account", id=1, name="ci", active=True)
    rotation = key_service.Rotation(old=old, new=key_service.IssuedKey(new, owner, raw))
    assert raw not in repr(rotation)
    assert raw[11:] not in str(rotation)


def test_a_parsed_key_is_a_frozen_value() -> None:
    parsed = parse_key(keys.generate_key("bk_"))
    assert isinstance(parsed, ParsedKey)
    with pytest.raises(AttributeError):
        parsed.value = "changed"  # type: ignore[misc]
