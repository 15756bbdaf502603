"""The rows every seeded database holds, on SQLite and PostgreSQL alike, in batches.

Users share one password hash computed once; keys are derived from their index, so any key of a
seeded database can be rebuilt to authenticate with it (``bench_key``). The rows are plain dicts
in batches of ``BATCH``, for Core ``insert()`` executemany (``bench.inserts``) or ``COPY``
(``bench.pg``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.app.core.settings import Settings

BATCH = 10_000
KEY_OWNERS = 1_000  # users owning the keys of a keys database, round robin
BENCH_PASSWORD = "correct-horse-battery-staple-bench"  # noqa: S105 (throwaway seeded users')
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@functools.cache
def password_hash() -> str:
    """One argon2id hash at the default parameters, reused by every seeded user."""
    from backend.app.core.security import PasswordHasher
    from backend.app.core.settings import PasswordPolicy

    return PasswordHasher(PasswordPolicy()).hash(BENCH_PASSWORD)


@functools.cache
def _to_base62() -> bytes:
    from backend.app.core.keys import BASE62

    return bytes(ord(BASE62[b % 62]) for b in range(256))


def bench_key(index: int, prefix: str) -> str:
    """The raw API key number ``index`` of a seeded database: well-formed, with its checksum."""
    from backend.app.core.keys import BODY_LENGTH, checksum

    seed = hashlib.blake2b(
        index.to_bytes(8, "big"), digest_size=BODY_LENGTH, person=b"backend-bench"
    ).digest()
    body = seed.translate(_to_base62()).decode("ascii")
    return f"{prefix}{body}{checksum(prefix + body)}"


def user_rows(count: int, *, first_id: int = 1) -> Iterator[list[dict[str, Any]]]:
    hashed = password_hash()
    for start in range(first_id, first_id + count, BATCH):
        stop = min(start + BATCH, first_id + count)
        yield [
            {
                "id": i,
                "email": f"user{i}@bench.example.com",
                "name": f"Bench User {i}",
                "role": "admin" if i == 1 else "member",
                "is_active": True,
                "password_hash": hashed,
                "created_at": SEEDED_AT,
                "updated_at": SEEDED_AT,
                "password_changed_at": SEEDED_AT,
            }
            for i in range(start, stop)
        ]


def key_rows(
    count: int,
    *,
    owners: int,
    settings: Settings,
    start: int = 0,
    owner_of: Callable[[int], int] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Keys number ``start`` to ``start + count``, owned round robin by users 1 to ``owners``
    unless ``owner_of`` maps a key's number to its owner's id."""
    from backend.app.core.keys import digest, display_prefix

    prefix = settings.api_keys.prefix
    pepper = settings.api_keys.pepper
    secret = pepper.get_secret_value().encode() if pepper else None
    owner = owner_of or (lambda i: i % owners + 1)
    for first in range(start, start + count, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, start + count)):
            raw = bench_key(i, prefix)
            batch.append(
                {
                    "user_id": owner(i),
                    "digest": digest(raw, secret),
                    "display_prefix": display_prefix(raw),
                    "scopes": ["read"],
                    "created_at": SEEDED_AT,
                }
            )
        yield batch
