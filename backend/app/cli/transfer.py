"""`users.export`/`users.import` and `accounts.export`/`accounts.import` (JSON Lines).

These tasks belong to the `users` and `accounts` namespaces (their modules import them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from backend.app.cli._output import to_json
from backend.app.cli._runtime import Runtime, app_task
from backend.app.errors import InvalidInput, quote

if TYPE_CHECKING:
    from backend.app.services.transfer import Imported

OUTPUT_HELP = "write to this file (created readable by you only) instead of standard output"
SOURCE_HELP = "the JSON Lines file to import, or - for standard input"
PLAN_COLUMNS = [("line", "LINE"), ("name", "NAME"), ("action", "ACTION"), ("changes", "CHANGES")]
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def private_file(path: Path) -> IO[str]:
    """A file only its owner can read (an export may hold password hashes)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # it may have existed with a laxer mode
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        reason = getattr(error, "strerror", None) or "not a usable file name"
        raise InvalidInput(f"cannot write {quote(str(path))}: {reason}") from None
    return os.fdopen(fd, "w", encoding="utf-8")


async def _export(
    rt: Runtime,
    rows: AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]],
    output: str | None,
    what: str,
) -> None:
    target = Path(output) if output not in (None, "-") else None
    if target is not None and rt.dry_run:
        async with rows as lines:
            count = sum([1 async for _ in lines])
        rt.out.result(
            {"status": "would export", "count": count, "path": str(target)},
            text=f"would export {count} {what} to {target} (dry run: no file written)",
        )
        return
    if target is None and rt.out.as_json:  # --json: one value, an array of the same objects
        async with rows as lines:
            count = await rt.out.table(lines, [])
        print(f"exported {count} {what}", file=sys.stderr, flush=True)
        return
    stream = private_file(target) if target is not None else rt.out.stdout
    count = 0
    try:
        async with rows as lines:
            async for row in lines:
                stream.write(to_json(row) + "\n")
                count += 1
    finally:
        if target is not None:
            stream.close()
        else:
            stream.flush()
    if target is None:
        print(f"exported {count} {what}", file=sys.stderr, flush=True)
        return
    rt.out.result(
        {"status": "exported", "count": count, "path": str(target)},
        text=f"exported {count} {what} to {target}",
    )


def _read(source: str) -> list[str]:
    """JSON Lines; or one JSON array, as `export --json` prints (each element a "line")."""
    if source == "-":
        if sys.stdin is None:
            raise InvalidInput("there is no standard input to import from")
        text = sys.stdin.read(MAX_IMPORT_BYTES)
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = getattr(error, "strerror", None) or "not a readable UTF-8 text file"
            raise InvalidInput(f"cannot read {quote(source)}: {reason}") from None
    if text.lstrip().startswith("["):
        import json

        try:
            items = json.loads(text)
        except ValueError:
            raise InvalidInput(f"{quote(source)} starts like a JSON array but is not one") from None
        return [json.dumps(item) for item in items]
    return text.splitlines()


async def _report(rt: Runtime, imported: Imported, *, what: str, extra: str = "") -> None:
    rows: list[dict[str, Any]] = [
        {
            "line": row.line,
            "name": row.name,
            "action": row.action,
            "changes": {k: f"{old} -> {new}" for k, (old, new) in row.changes.items()},
        }
        for row in imported.rows
    ]
    summary = {
        "created": imported.count("create"),
        "updated": imported.count("update"),
        "unchanged": imported.count("unchanged"),
        "without_password": imported.without_password,
    }
    if rt.out.as_json:
        rt.out.result({**summary, "rows": rows})
        return
    await rt.out.table(rows, PLAN_COLUMNS, empty=f"(no {what} in the file)")
    line = f"{summary['created']} created, {summary['updated']} updated, "
    line += f"{summary['unchanged']} unchanged{extra}"
    print(line, file=sys.stderr, flush=True)


@app_task(
    name="export",
    help={
        "output": OUTPUT_HELP,
        "with_password_hashes": "include the password hashes (never the passwords)",
    },
)
async def users_export(
    rt: Runtime, output: str | None = None, with_password_hashes: bool = False
) -> None:
    """Write every user as JSON Lines (no password hash unless asked; never API keys)."""
    from backend.app.services import transfer

    rows = transfer.export_users(rt.services(), with_password_hashes=with_password_hashes)
    await _export(rt, rows, output, "users")


@app_task(name="import", help={"source": SOURCE_HELP})
async def users_import(rt: Runtime, source: str) -> None:
    """Create and update users from JSON Lines, all or nothing (--dry prints the plan)."""
    from backend.app.services import transfer

    entries = transfer.parse_users(_read(source))
    imported = await transfer.import_users(rt.services(), entries)
    extra = ""
    if imported.without_password:
        extra = (
            f"; {imported.without_password} created without a password cannot log in until "
            "one is set (users.set-password)"
        )
    await _report(rt, imported, what="users", extra=extra)


@app_task(name="export", help={"output": OUTPUT_HELP})
async def accounts_export(rt: Runtime, output: str | None = None) -> None:
    """Write every service account as JSON Lines (never API keys)."""
    from backend.app.services import transfer

    await _export(rt, transfer.export_accounts(rt.services()), output, "service accounts")


@app_task(name="import", help={"source": SOURCE_HELP})
async def accounts_import(rt: Runtime, source: str) -> None:
    """Create and update service accounts from JSON Lines, all or nothing."""
    from backend.app.services import transfer

    entries = transfer.parse_accounts(_read(source))
    await _report(rt, await transfer.import_accounts(rt.services(), entries), what="accounts")
