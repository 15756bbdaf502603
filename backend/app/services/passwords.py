"""Passwords on their way in: the policy check and the argon2id hash, before any database work.

Deliberately light (no database stack): the CLI starts hashing a new password before it loads
SQLAlchemy, and the hash runs on a worker thread while the stack loads (argon2 releases the GIL,
so with two cores most of its time overlaps the loading: P3 in the README's Performance section).
No transaction or lock is open during the slow part.
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
    return await start_hashing(hasher, password)


def start_hashing(hasher: PasswordHasher, password: str) -> asyncio.Future[HashedPassword]:
    """Check the policy (InvalidInput, never echoing the password), then start the hash on a
    worker thread at once, before the caller next awaits: the caller can do other work (import
    the database stack, say) while argon2 runs, and awaits the future when it needs the hash."""
    hasher.check(password)
    hash_new = hasher.new_hash_function()  # argon2 loaded here: the worker holds the GIL least

    def work() -> HashedPassword:
        return HashedPassword(hash_new(password))

    return asyncio.get_running_loop().run_in_executor(None, work)
