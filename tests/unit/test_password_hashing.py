from __future__ import annotations

from backend.app.core.security import PasswordHasher
from backend.app.core.settings import PasswordPolicy

PASSWORD = "correct horse battery staple"


def test_a_hash_weaker_than_the_configured_cost_is_upgraded_on_verify() -> None:
    weak = PasswordHasher(PasswordPolicy()).hash(PASSWORD)
    ok, upgraded = PasswordHasher(PasswordPolicy(argon2_time_cost=3)).verify(PASSWORD, weak)
    assert ok
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=3,p=1$")


def test_a_hash_stronger_than_the_configured_cost_is_never_rehashed_down() -> None:
    strong = PasswordHasher(PasswordPolicy(argon2_memory_kib=32_768, argon2_time_cost=3)).hash(
        PASSWORD
    )
    ok, replacement = PasswordHasher(PasswordPolicy()).verify(PASSWORD, strong)
    assert ok
    assert replacement is None


def test_a_wrong_password_gives_no_replacement_hash() -> None:
    weak = PasswordHasher(PasswordPolicy()).hash(PASSWORD)
    assert PasswordHasher(PasswordPolicy(argon2_time_cost=3)).verify("wrong", weak) == (False, None)


def test_hashes_are_argon2id_at_the_configured_parameters() -> None:
    policy = PasswordPolicy(argon2_memory_kib=20_000, argon2_time_cost=2, argon2_parallelism=2)
    assert PasswordHasher(policy).hash(PASSWORD).startswith("$argon2id$v=19$m=20000,t=2,p=2$")
