"""Passwords on their way in: the policy check and the argon2id hash, before any database work.

Deliberately light (no database stack): the CLI hashes a new password before it loads
SQLAlchemy, so argon2's memory cost and the database stack's memory are never held at once
(P3 in the README's Performance section), and no transaction or lock is open during the slow part.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from backend.app.core.security import PasswordHasher


@dataclass(frozen=True)
class HashedPassword:
    """A password that met the policy, hashed. Only ``hash_password`` makes one."""

    hash: str

    def __repr__(self) -> str:
        return "HashedPassword(...)"


async def hash_password(hasher: PasswordHasher, password: str) -> HashedPassword:
    """Check the policy (InvalidInput, never echoing the password), then hash off the loop."""
    hasher.check(password)
    return HashedPassword(await asyncio.to_thread(hasher.hash, password))
