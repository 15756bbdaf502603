"""Passwords: argon2id at the cost settings give; argon2-cffi hashes, passlib (libpass) verifies.

A new hash is argon2-cffi's own ``$argon2id$`` string, the format passlib's argon2 handler
writes and reads (same salt and hash lengths), so a command that only hashes (``users.create``)
never imports passlib; verification goes through passlib's CryptContext, which also recognises
a hash below the configured cost and re-hashes it.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.core.settings import PasswordPolicy

_ARGON2_PARAMS = re.compile(r"\$argon2id\$v=\d+\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")
# Never a password a user could type: it only equalises the time of a failed lookup.
_DUMMY_PASSWORD = "timing-equaliser-" + "x" * 16


# passlib's argon2 defaults (salt_size, checksum_size), so its verify reads our hashes as current.
ARGON2_SALT_BYTES = 16
ARGON2_HASH_BYTES = 32

_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 24) -> str:
    """A random password from ``secrets``: letters and digits only (no shell quoting trouble),
    about 143 bits at the default length."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class PasswordHasher:
    """Hashes with argon2id at the configured cost; verification upgrades weaker hashes."""

    def __init__(self, policy: PasswordPolicy) -> None:
        self.policy = policy

    @cached_property
    def _context(self) -> Any:
        from passlib.context import CryptContext

        return CryptContext(
            schemes=["argon2"],
            deprecated="auto",
            argon2__type="ID",
            argon2__memory_cost=self.policy.argon2_memory_kib,
            argon2__rounds=self.policy.argon2_time_cost,
            argon2__parallelism=self.policy.argon2_parallelism,
        )

    def check(self, password: str) -> None:
        """Raise InvalidInput unless ``password`` meets the policy. Never echoes it."""
        policy = self.policy
        if len(password) < policy.min_length:
            raise InvalidInput(f"the password is shorter than {policy.min_length} characters")
        if len(password) > policy.max_length:
            raise InvalidInput(f"the password is longer than {policy.max_length} characters")
        if "\x00" in password:
            raise InvalidInput("the password contains a NUL character")
        if not password.strip():
            raise InvalidInput("the password is blank")
        try:
            password.encode("utf-8")
        except UnicodeEncodeError:
            # Undecodable bytes from the environment or stdin arrive as lone surrogates; the
            # encoder's own message would quote one of them (a piece of the password).
            raise InvalidInput("the password is not valid UTF-8 text") from None

    @cached_property
    def _argon2(self) -> Any:
        from argon2 import PasswordHasher, Type

        policy = self.policy
        return PasswordHasher(
            time_cost=policy.argon2_time_cost,
            memory_cost=policy.argon2_memory_kib,
            parallelism=policy.argon2_parallelism,
            hash_len=ARGON2_HASH_BYTES,
            salt_len=ARGON2_SALT_BYTES,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        self.check(password)
        return self.new_hash_function()(password)

    def new_hash_function(self) -> Callable[[str], str]:
        """What ``hash`` runs after the policy check, with argon2 already loaded: to be called
        on the thread that will not run it (see ``services.passwords.start_hashing``)."""
        hasher = self._argon2
        return lambda password: str(hasher.hash(password))

    def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a replacement hash when the stored one is weaker.

        With no stored hash it still spends one hash's time, so a missing user cannot be told
        from a wrong password by timing.
        """
        if len(password) > self.policy.max_length:
            return False, None
        if hashed is None:
            self._context.verify_and_update(_DUMMY_PASSWORD, self._dummy_hash)
            return False, None
        try:
            ok, new_hash = self._context.verify_and_update(password, hashed)
        except (ValueError, TypeError):
            # Not a hash passlib can read (unknown scheme, or a damaged one, whose bad base64 it
            # reports as a TypeError): a failed match, never an error, so a damaged row locks
            # out only its own user.
            return False, None
        if new_hash is not None and not self.is_weaker(hashed):
            new_hash = None  # passlib would also re-hash a stronger hash down: never do that
        return bool(ok), new_hash

    def is_weaker(self, hashed: str) -> bool:
        """Whether a stored hash is below the configured argon2id cost (or another scheme)."""
        match = _ARGON2_PARAMS.match(hashed)
        if match is None:
            return True
        policy = self.policy
        return (
            int(match["m"]) < policy.argon2_memory_kib
            or int(match["t"]) < policy.argon2_time_cost
            or int(match["p"]) < policy.argon2_parallelism
        )

    @cached_property
    def _dummy_hash(self) -> str:
        return str(self._argon2.hash(_DUMMY_PASSWORD))

    def generate(self) -> str:
        return generate_password(max(24, self.policy.min_length))
