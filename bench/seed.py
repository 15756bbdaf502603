"""Seeded SQLite databases for P4/P5, built with Core bulk inserts and cached between runs.

An empty database is migrated once per run by the real ``inv db.upgrade`` and copied for each
seeding (``fresh_copy``, which BULK and P6 seed into too). A cached file is named after a digest
of the migrations and of the seeding code (this module, ``bench.rows`` and ``bench.inserts``), so
a schema or seeding change builds a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.context import Bench
from bench.inserts import insert_keys, insert_users
from bench.measure import child_env, run, venv_script

if TYPE_CHECKING:
    from backend.app.core.settings import Settings

# The modules whose code decides what a seeded database holds.
SEEDING_CODE = ("rows.py", "inserts.py", "seed.py")


def settings_for(bench: Bench, database: Path) -> Settings:
    """Settings on ``database`` with the shipped defaults, whatever the shell or .env say."""
    from backend.app.core.settings import build_settings

    return build_settings(
        profile_values={},
        root=bench.root,
        overrides={"database_url": f"sqlite+aiosqlite:///{database}"},
        env_file=bench.work / "no.env",
    )


def schema_tag(bench: Bench) -> str:
    """Changes whenever the migrations or the seeding code (``SEEDING_CODE``) change."""
    digest = hashlib.sha256()
    for name in SEEDING_CODE:
        digest.update(Path(__file__).with_name(name).read_bytes())
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
