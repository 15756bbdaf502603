"""Passwords: the policy's rules and their exact messages, real argon2id hashing through passlib,
verification that fails closed, upgrades that never go down, and generated passwords.

Every hash here is made at the lowest cost the settings allow, so the file stays fast enough to
run once per mutant of ``backend.app.core.security``.
"""

from __future__ import annotations

import string
import subprocess
import sys
from typing import Any

import pytest
from passlib.hash import argon2

from backend.app.core.security import PasswordHasher, generate_password
from backend.app.core.settings import PasswordPolicy
from backend.app.errors import InvalidInput

PASSWORD = "correct horse battery staple"
LOWEST = PasswordPolicy()  # m=19456 KiB, t=2, p=1: the floor the settings enforce
AT_LOWEST = "$argon2id$v=19$m=19456,t=2,p=1$"
BOUNDED = PasswordPolicy(min_length=12, max_length=64)
ALPHANUMERIC = set(string.ascii_letters + string.digits)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(LOWEST)


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


def argon2_text(variant: str = "argon2id", m: int = 32_768, t: int = 3, p: int = 2) -> str:
    """A stored hash as text: ``is_weaker`` reads only its parameters."""
    return f"${variant}$v=19$m={m},t={t},p={p}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


# -- the policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        pytest.param("a" * 11, "the password is shorter than 12 characters", id="one-too-short"),
        pytest.param("", "the password is shorter than 12 characters", id="empty"),
        pytest.param("a" * 65, "the password is longer than 64 characters", id="one-too-long"),
        pytest.param("abcdef\x00ghijkl", "the password contains a NUL character", id="nul"),
        pytest.param(" " * 12, "the password is blank", id="spaces"),
        pytest.param("\t\n\r " * 3, "the password is blank", id="whitespace"),
        pytest.param("abcdefghijk\udcff", "the password is not valid UTF-8 text", id="surrogate"),
    ],
)
def test_a_password_breaking_the_policy_is_refused_with_its_reason(
    password: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        PasswordHasher(BOUNDED).check(password)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("a" * 12, id="exactly-the-minimum"),
        pytest.param("a" * 64, id="exactly-the-maximum"),
        pytest.param(PASSWORD, id="inner-spaces"),
        pytest.param("  padded-secret  ", id="outer-spaces"),
        pytest.param("pässwörd-ünïcödé", id="non-ascii"),
    ],
)
def test_a_password_within_the_policy_is_accepted(password: str) -> None:
    PasswordHasher(BOUNDED).check(password)


def test_a_password_that_is_not_utf8_is_refused_without_quoting_any_of_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        PasswordHasher(BOUNDED).check("secret-part-\udcff")
    assert "secret" not in str(caught.value)
    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None


# -- hashing --------------------------------------------------------------------------------------


def test_a_hash_is_argon2id_at_the_configured_cost_and_verifies(
    hasher: PasswordHasher, stored: str
) -> None:
    assert stored.startswith(AT_LOWEST)
    assert hasher.verify(PASSWORD, stored) == (True, None)


def test_a_new_hash_is_the_string_passlib_writes_at_the_configured_cost(
    hasher: PasswordHasher, stored: str
) -> None:
    """argon2-cffi writes new hashes; passlib must read them as its own, current ones."""
    parsed = argon2.from_string(stored)
    assert (parsed.type, parsed.memory_cost, parsed.rounds, parsed.parallelism) == (
        "id",
        19_456,
        2,
        1,
    )
    assert len(parsed.salt) == argon2.default_salt_size
    assert len(parsed.checksum) == argon2.checksum_size
    assert not hasher._context.needs_update(stored)


def test_hashing_a_password_does_not_import_passlib() -> None:
    """Only verifying needs passlib: users.create starts faster without it (README, P3)."""
    code = (
        "import sys\n"
        "from backend.app.core.security import PasswordHasher\n"
        "from backend.app.core.settings import PasswordPolicy\n"
        "assert PasswordHasher(PasswordPolicy()).hash('correct horse battery staple')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'passlib'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_hashing_the_same_password_twice_gives_two_salted_hashes(
    hasher: PasswordHasher, stored: str
) -> None:
    assert hasher.hash(PASSWORD) != stored


def test_a_hash_takes_every_configured_parameter() -> None:
    policy = PasswordPolicy(argon2_memory_kib=20_000, argon2_time_cost=2, argon2_parallelism=2)
    assert PasswordHasher(policy).hash(PASSWORD).startswith("$argon2id$v=19$m=20000,t=2,p=2$")


def test_a_password_breaking_the_policy_is_never_hashed(hasher: PasswordHasher) -> None:
    with pytest.raises(InvalidInput, match=r"^the password is shorter than 12 characters$"):
        hasher.hash("too short")


# -- verifying ------------------------------------------------------------------------------------


def test_a_wrong_password_does_not_match(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify("wrong password", stored) == (False, None)


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param("", id="empty"),
        pytest.param(PASSWORD, id="the-password-in-clear-text"),
        pytest.param("$2b$12$" + "a" * 53, id="bcrypt"),
        pytest.param(AT_LOWEST + "not-base64$at-all", id="broken-argon2id"),
        pytest.param(AT_LOWEST, id="argon2id-without-salt-or-digest"),
    ],
)
def test_a_stored_hash_passlib_cannot_read_never_matches(
    hasher: PasswordHasher, unusable: str
) -> None:
    assert hasher.verify(PASSWORD, unusable) == (False, None)


def test_a_password_over_the_maximum_never_matches_even_its_own_hash() -> None:
    too_long = "x" * 65
    wider = PasswordHasher(PasswordPolicy(max_length=128))
    own_hash = wider.hash(too_long)
    assert wider.verify(too_long, own_hash) == (True, None)
    assert PasswordHasher(PasswordPolicy(max_length=64)).verify(too_long, own_hash) == (False, None)


def test_a_password_of_exactly_the_maximum_length_matches() -> None:
    longest = "y" * 64
    hasher = PasswordHasher(PasswordPolicy(max_length=64))
    assert hasher.verify(longest, hasher.hash(longest)) == (True, None)


def test_a_missing_user_still_costs_one_argon2id_verification(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without it, "no such user" would answer faster than "wrong password"."""
    hasher = PasswordHasher(LOWEST)
    context = hasher._context
    real = context.verify_and_update
    calls: list[tuple[str, Any]] = []

    def spy(secret: str, stored: Any) -> Any:
        calls.append((secret, stored))
        return real(secret, stored)

    monkeypatch.setattr(context, "verify_and_update", spy)
    assert hasher.verify(PASSWORD, None) == (False, None)
    assert hasher.verify(PASSWORD, None) == (False, None)
    assert len(calls) == 2
    (first_secret, first_hash), (second_secret, second_hash) = calls
    assert first_secret == second_secret != PASSWORD
    assert isinstance(first_hash, str)
    assert first_hash.startswith(AT_LOWEST)
    assert second_hash == first_hash  # made once: the first failed lookup pays no extra hash


def test_a_hash_weaker_than_the_configured_cost_is_upgraded_on_verify(stored: str) -> None:
    stronger = PasswordHasher(PasswordPolicy(argon2_time_cost=3))
    ok, upgraded = stronger.verify(PASSWORD, stored)
    assert ok
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    assert stronger.verify(PASSWORD, upgraded) == (True, None)


def test_an_argon2i_hash_is_upgraded_to_argon2id(hasher: PasswordHasher) -> None:
    old = argon2.using(type="I", memory_cost=19_456, rounds=2, parallelism=1).hash(PASSWORD)
    ok, upgraded = hasher.verify(PASSWORD, old)
    assert ok
    assert upgraded is not None
    assert upgraded.startswith(AT_LOWEST)


def test_a_wrong_password_never_gets_a_replacement_hash(stored: str) -> None:
    stronger = PasswordHasher(PasswordPolicy(argon2_time_cost=3))
    assert stronger.verify("wrong password", stored) == (False, None)


def test_a_hash_stronger_than_the_configured_cost_is_never_rehashed_down(
    hasher: PasswordHasher,
) -> None:
    strong = PasswordHasher(PasswordPolicy(argon2_time_cost=3)).hash(PASSWORD)
    assert hasher.verify(PASSWORD, strong) == (True, None)


@pytest.mark.parametrize(
    ("stored", "weaker"),
    [
        pytest.param(argon2_text(), False, id="the-same-cost"),
        pytest.param(argon2_text(m=65_536, t=4, p=4), False, id="costlier-in-everything"),
        pytest.param(argon2_text(m=32_767), True, id="less-memory"),
        pytest.param(argon2_text(t=2), True, id="fewer-passes"),
        pytest.param(argon2_text(p=1), True, id="less-parallelism"),
        pytest.param(argon2_text(m=65_536, t=2), True, id="more-memory-fewer-passes"),
        pytest.param(argon2_text("argon2i"), True, id="argon2i"),
        pytest.param(argon2_text("argon2d"), True, id="argon2d"),
        pytest.param("$2b$12$" + "a" * 53, True, id="bcrypt"),
        pytest.param("", True, id="empty"),
    ],
)
def test_a_stored_hash_is_weaker_below_the_configured_cost_or_in_another_scheme(
    stored: str, weaker: bool
) -> None:
    policy = PasswordPolicy(argon2_memory_kib=32_768, argon2_time_cost=3, argon2_parallelism=2)
    assert PasswordHasher(policy).is_weaker(stored) is weaker


# -- generated passwords --------------------------------------------------------------------------


def test_a_generated_password_is_24_letters_and_digits_by_default() -> None:
    password = generate_password()
    assert len(password) == 24
    assert set(password) <= ALPHANUMERIC


@pytest.mark.parametrize("length", [1, 12, 100])
def test_a_generated_password_has_the_length_asked_for(length: int) -> None:
    assert len(generate_password(length)) == length


def test_generated_passwords_use_every_letter_and_digit_and_nothing_else() -> None:
    # 5,000 characters: the chance that one of the 62 never shows is below 1e-34.
    assert set(generate_password(5_000)) == ALPHANUMERIC


def test_generated_passwords_are_all_different() -> None:
    assert len({generate_password() for _ in range(500)}) == 500


@pytest.mark.parametrize(
    ("min_length", "length"),
    [
        pytest.param(12, 24, id="at-least-24"),
        pytest.param(24, 24, id="the-minimum-is-24"),
        pytest.param(40, 40, id="a-longer-minimum"),
    ],
)
def test_the_hasher_generates_passwords_its_own_policy_accepts(
    min_length: int, length: int
) -> None:
    hasher = PasswordHasher(PasswordPolicy(min_length=min_length))
    password = hasher.generate()
    assert len(password) == length
    assert set(password) <= ALPHANUMERIC
    hasher.check(password)
