"""`config` tasks: what the program will actually use, where each value came from, and where
things live. Secrets are masked unless --show-secrets."""

from __future__ import annotations

from typing import Any

from backend.app.cli._runtime import Runtime, app_task


def warn_about_files(rt: Runtime) -> None:
    """Secrets written into invoke.yaml, and .env lines ignored for lowering a guard."""
    from backend.app.core.provenance import dotenv_notes, secrets_in_profile

    for warning in [*secrets_in_profile(rt.app), *dotenv_notes(rt.app)]:
        rt.out.warn(warning)


@app_task(
    database=False,
    help={
        "show_secrets": "print secret values and the database password in clear",
        "sources": "also say, for every setting, which layer set it",
    },
)
async def show(rt: Runtime, show_secrets: bool = False, sources: bool = False) -> None:
    """Show the effective settings of the active profile (secrets masked)."""
    from backend.app.core.provenance import as_tree, describe

    warn_about_files(rt)
    described = describe(rt.app, show_secrets=show_secrets)
    data: dict[str, Any] = {
        "profile": rt.app.profile.name,
        "root": str(rt.app.root),
        "settings": as_tree(described),
    }
    if sources:
        data["sources"] = {item.path: item.source for item in described}
    if rt.out.as_json:
        rt.out.result(data)
        return
    rt.out.note(f"profile {rt.app.profile.name} ({rt.app.profile.describe()}) · root {rt.app.root}")
    if sources:
        rows = [{"setting": i.path, "value": i.value, "source": i.source} for i in described]
        await rt.out.table(rows, [("setting", "SETTING"), ("value", "VALUE"), ("source", "SOURCE")])
    else:
        rt.out.record({item.path: item.value for item in described})


@app_task(database=False)
async def paths(rt: Runtime) -> None:
    """Show where things are: project root, config files, alembic.ini, migrations, database."""
    from pathlib import Path

    from backend.app import migrations
    from backend.app.core.redaction import mask_url
    from backend.app.core.settings import sqlite_path

    app = rt.app
    ini = app.root / "alembic.ini"
    dotenv = app.root / ".env"
    url = app.settings.database_url
    database = sqlite_path(url)
    data = {
        "root": str(app.root),
        "config_files": [str(p) for p in app.config_files],
        "alembic_ini": str(ini) if ini.is_file() else None,
        "migrations": str(Path(migrations.__file__).resolve().parent),
        "database": str(database) if database else (mask_url(url) if url else None),
        "database_exists": database.exists() if database else None,
        "dotenv": str(dotenv),
        "dotenv_exists": dotenv.is_file(),
    }
    rt.out.record(data)


@app_task(database=False)
async def profiles(rt: Runtime) -> None:
    """List the profiles, which one is active and why, and which are protected."""
    from backend.app.core.config import load_app_config
    from backend.app.core.redaction import mask_url
    from backend.app.errors import AppError

    active = rt.app.profile
    rows = []
    for name in rt.app.profiles:
        row: dict[str, Any] = {"id": name, "active": name == active.name}
        row["reason"] = active.describe() if name == active.name else None
        try:
            settings = load_app_config(app=rt.app.app, root=rt.app.root, selected=name).settings
        except AppError as error:
            row.update(protected=None, confirm_destructive=None, database=f"invalid: {error}")
        else:
            row.update(
                protected=settings.protected,
                confirm_destructive=settings.confirm_destructive,
                database=mask_url(settings.database_url) if settings.database_url else None,
            )
        rows.append(row)
    rt.out.note(f"active profile: {active.name} ({active.describe()})")
    await rt.out.table(
        rows,
        [
            ("id", "PROFILE"),
            ("active", "ACTIVE"),
            ("protected", "PROTECTED"),
            ("confirm_destructive", "CONFIRM"),
            ("database", "DATABASE"),
        ],
        empty="(no profiles)",
    )
