"""Seeded databases for P4/P5, built with Core bulk inserts (P6) and cached between runs.

Rows go in with one Core ``insert()`` executemany per batch of 10,000, never per-row ORM adds.
Users share one password hash computed once; keys are derived from their index, so any key of
a cached database can be rebuilt to authenticate with it. A cached file is named after a digest
of the migrations and of this module, so a schema or seeding change builds a new one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.context import Bench
from bench.measure import child_env, median, run, venv_script
from bench.report import Result

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from backend.app.core.settings import Settings

BATCH = 10_000
KEY_OWNERS = 1_000  # users owning the keys of a keys database, round robin
P6_ROWS = 10_000
BENCH_PASSWORD = "correct-horse-battery-staple-bench"  # noqa: S105 (throwaway seeded users')
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def settings_for(bench: Bench, database: Path) -> Settings:
    """Settings on ``database`` with the shipped defaults, whatever the shell or .env say."""
    from backend.app.core.settings import build_settings

    return build_settings(
        profile_values={},
        root=bench.root,
        overrides={"database_url": f"sqlite+aiosqlite:///{database}"},
        env_file=bench.work / "no.env",
    )


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


@dataclass
class Inserts:
    """What the driver was asked to do while seeding: the proof that it was bulk."""

    executemany_calls: int = 0
    single_inserts: int = 0
    rows: int = 0


@asynccontextmanager
async def counted(engine: AsyncEngine) -> AsyncIterator[Inserts]:
    from sqlalchemy import event

    seen = Inserts()

    def before(
        _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if not statement.lstrip().upper().startswith("INSERT"):
            return
        if many:
            seen.executemany_calls += 1
            seen.rows += len(params)
        else:
            seen.single_inserts += 1
            seen.rows += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def insert_users(engine: AsyncEngine, count: int, *, first_id: int = 1) -> Inserts:
    from sqlalchemy import insert

    from backend.app.models import User

    async with counted(engine) as seen, engine.begin() as conn:
        for batch in user_rows(count, first_id=first_id):
            await conn.execute(insert(User), batch)
    return seen


async def insert_keys(
    engine: AsyncEngine, count: int, *, owners: int, settings: Settings
) -> Inserts:
    from sqlalchemy import insert

    from backend.app.models import ApiKey

    async with counted(engine) as seen, engine.begin() as conn:
        for batch in key_rows(count, owners=owners, settings=settings):
            await conn.execute(insert(ApiKey), batch)
    return seen


async def add_users_orm(engine: AsyncEngine, count: int) -> Inserts:
    """The slow way, for contrast only: one ORM object per row through a Session."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from backend.app.models import User

    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with counted(engine) as seen, maker() as session, session.begin():
        for batch in user_rows(count):
            session.add_all(User(**row) for row in batch)
    return seen


# -- databases ------------------------------------------------------------------------------------


def schema_tag(bench: Bench) -> str:
    """Changes whenever the migrations or this seeding code change."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    versions = bench.root / "backend" / "app" / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def migrated_template(bench: Bench) -> Path:
    """An empty database at head, migrated once per run by the real ``inv db.upgrade``."""
    template = bench.work / "template.sqlite"
    if not template.exists():
        env = child_env({"APP_DATABASE_URL": f"sqlite+aiosqlite:///{template}"})
        run([*venv_script("inv"), "db.upgrade"], cwd=bench.root, env=env)
    return template


def fresh_copy(bench: Bench, name: str) -> Path:
    target = bench.work / name
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(migrated_template(bench), target)
    return target


async def _seed(bench: Bench, database: Path, *, users: int, keys: int) -> None:
    from backend.app.core.database import Database

    settings = settings_for(bench, database)
    db = Database(settings)
    try:
        engine = db.engine()
        await insert_users(engine, users)
        if keys:
            await insert_keys(engine, keys, owners=users, settings=settings)
    finally:
        await db.finish()


def seeded(bench: Bench, *, users: int, keys: int = 0) -> Path:
    """A cached database with ``users`` users and ``keys`` keys, built once."""
    kind = f"keys-{keys}" if keys else f"users-{users}"
    tag = schema_tag(bench)
    path = bench.cache / f"{kind}-{tag}.sqlite"
    if path.exists():
        return path
    bench.cache.mkdir(parents=True, exist_ok=True)
    for stale in bench.cache.glob(f"{kind}-*.sqlite*"):
        stale.unlink()
    bench.progress(f"seeding {path.relative_to(bench.root)} (once; cached for later runs)")
    started = time.perf_counter()
    partial = fresh_copy(bench, f"{kind}.partial.sqlite")
    asyncio.run(_seed(bench, partial, users=users, keys=keys))
    os.replace(partial, path)
    bench.progress(f"seeded in {time.perf_counter() - started:.1f} s")
    return path


# -- P6 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedTimes:
    users_s: float
    keys_s: float
    orm_users_s: float
    users: Inserts
    keys: Inserts
    orm: Inserts


async def _time_core(bench: Bench, database: Path) -> tuple[float, float, Inserts, Inserts]:
    from backend.app.core.database import Database

    settings = settings_for(bench, database)
    db = Database(settings)
    engine = db.engine()
    try:
        start = time.perf_counter()
        users = await insert_users(engine, P6_ROWS)
        middle = time.perf_counter()
        keys = await insert_keys(engine, P6_ROWS, owners=P6_ROWS, settings=settings)
        end = time.perf_counter()
    finally:
        await db.finish()
    return middle - start, end - middle, users, keys


async def _time_orm(bench: Bench, database: Path) -> tuple[float, Inserts]:
    from backend.app.core.database import Database

    db = Database(settings_for(bench, database))
    try:
        start = time.perf_counter()
        seen = await add_users_orm(db.engine(), P6_ROWS)
        return time.perf_counter() - start, seen
    finally:
        await db.finish()


def p6(bench: Bench) -> list[Result]:
    password_hash()  # the one real hash, outside the timings
    reps = bench.reps(5)
    bench.progress(f"P6 seeding {P6_ROWS:,} users and keys: {reps} runs (ORM contrast: fewer)")
    times: list[SeedTimes] = []
    orm_runs = max(1, min(reps, 3))
    for rep in range(reps):
        core = asyncio.run(_time_core(bench, fresh_copy(bench, "p6-core.sqlite")))
        orm: tuple[float, Inserts] = (float("nan"), Inserts())
        if rep < orm_runs:
            orm = asyncio.run(_time_orm(bench, fresh_copy(bench, "p6-orm.sqlite")))
        times.append(SeedTimes(core[0], core[1], orm[0], core[2], core[3], orm[1]))
    users_s = median([t.users_s for t in times])
    keys_s = median([t.keys_s for t in times])
    orm_s = median([t.orm_users_s for t in times[:orm_runs]])
    last = times[-1]
    batches = -(-P6_ROWS // BATCH)
    bulk = (
        last.users.executemany_calls == batches
        and last.keys.executemany_calls == batches
        and last.users.single_inserts == 0
        and last.keys.single_inserts == 0
    )
    bulk_result = Result(
        figure="P6",
        what=f"seed {P6_ROWS // 1000}k users + {P6_ROWS // 1000}k keys",
        target="Core insert() executemany",
        measured=(
            f"users {users_s:.2f} s, keys {keys_s:.2f} s; "
            f"{last.users.executemany_calls}+{last.keys.executemany_calls} executemany, "
            f"{last.users.single_inserts + last.keys.single_inserts} single INSERTs"
        ),
        met=bulk,
        details={
            "users_runs_s": [round(t.users_s, 4) for t in times],
            "keys_runs_s": [round(t.keys_s, 4) for t in times],
            "users_inserts": vars(last.users),
            "keys_inserts": vars(last.keys),
            "batch_rows": BATCH,
        },
    )
    contrast = Result(
        figure="P6",
        what=f"(contrast) {P6_ROWS // 1000}k users by ORM add_all",
        target="(not used)",
        measured=f"{orm_s:.2f} s = {orm_s / users_s:.1f}x Core "
        f"({times[0].orm.executemany_calls} executemany, "
        f"{times[0].orm.single_inserts} single INSERTs)",
        met=None,
        value=round(orm_s / users_s, 2),
        details={
            "orm_runs_s": [round(t.orm_users_s, 4) for t in times[:orm_runs]],
            "orm_inserts": vars(times[0].orm),
        },
    )
    return [bulk_result, contrast]
