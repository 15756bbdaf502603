"""`keys.revoke` and `keys.prune`: taking keys away, by id, by the key itself, or by owner.

These tasks belong to the `keys` namespace (``cli/keys.py`` imports them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.app.cli._common import YES_HELP
from backend.app.cli._runtime import Runtime, app_task
from backend.app.errors import InvalidInput

if TYPE_CHECKING:
    from backend.app.services.revocation import Pruned, Revoked

MAX_IDS = 10_000
REVOKED_COLUMNS = [
    ("id", "ID"),
    ("display_prefix", "KEY"),
    ("owner", "OWNER"),
    ("status", "STATUS"),
]


def parse_ids(text: str) -> list[int]:
    """``7`` or ``7,8,9``."""
    from backend.app.domain import parse_id

    parts = text.split(",")
    if len(parts) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} key ids in one command")
    return [parse_id(part, what="key") for part in parts]


def _record(revoked: Revoked) -> dict[str, Any]:
    return {
        "status": "revoked" if revoked.changed else "unchanged",
        "id": revoked.key_id,
        "display_prefix": revoked.display_prefix,
        "owner_type": revoked.owner.kind,
        "owner": revoked.owner.name,
        "revoked_at": revoked.revoked_at,
    }


@app_task(
    optional_positional="ids",
    help={
        "ids": "the key's id (from keys.list), or several: 7,8,9 (the flag itself may be left "
        "out: keys.revoke 7)",
        "key_stdin": "revoke the key whose text is on standard input (it is never printed)",
        "user": "revoke every live key of this user",
        "account": "revoke every live key of this service account",
        "yes": YES_HELP + " (needed with --user or --account)",
    },
)
async def revoke(
    rt: Runtime,
    ids: str | None = None,
    key_stdin: bool = False,
    user: str | None = None,
    account: str | None = None,
    yes: bool = False,
) -> None:
    """Revoke API keys at once: by id, the key on stdin, or all of an owner's; idempotent."""
    from backend.app.cli.keys import owner_of

    chosen = [
        flag
        for flag, on in (
            ("ids", ids is not None),
            ("--key-stdin", key_stdin),
            ("--user", user),
            ("--account", account),
        )
        if on
    ]
    if len(chosen) != 1:
        raise InvalidInput(
            "name the keys one way: an id (or 7,8,9), --key-stdin, --user EMAIL or --account NAME"
        )
    key_ids = parse_ids(ids) if ids is not None else []
    owner = owner_of(user, account, required=False)
    from backend.app.services import revocation

    ctx = rt.services()
    if owner is not None:
        done = await revocation.revoke_owned(ctx, owner, confirmed=rt.confirmed(yes))
    else:
        if key_stdin:
            key_ids = [await revocation.key_id_of(ctx, _read_key())]
        done = await revocation.revoke_keys(ctx, key_ids=key_ids)
    records = [_record(item) for item in done]
    if len(key_ids) == 1 and owner is None:  # one key named: one object, as ever
        (only,) = records
        changed = only["status"] == "revoked"
        text = (
            f"revoked key {only['id']} ({only['display_prefix']}) of "
            f"{only['owner_type']} {only['owner']}"
            if changed
            else f"unchanged: key {only['id']} was already revoked"
        )
        rt.out.result(only, text=text)
        return
    rows = [{**r, "owner": f"{r['owner_type']} {r['owner']}"} for r in records]
    if rt.out.as_json:
        rt.out.result(records)
        return
    await rt.out.table(rows, REVOKED_COLUMNS, empty="(no live keys)")
    revoked = sum(1 for r in records if r["status"] == "revoked")
    rt.out.note(f"{revoked} revoked, {len(records) - revoked} unchanged")


def _read_key() -> str:
    from backend.app.cli.keys import read_key

    return read_key()


def report_prune(rt: Runtime, pruned: Pruned, *, what: str) -> None:
    from backend.app.cli._output import format_time

    data = {
        "status": "pruned" if pruned.count else "unchanged",
        "count": pruned.count,
        "before": pruned.before,
    }
    cutoff = format_time(pruned.before)
    if pruned.count:
        text = f"pruned {pruned.count} {what} from before {cutoff}"
    else:
        text = f"unchanged: no {what} from before {cutoff}"
    rt.out.result(data, text=text)


@app_task(
    help={
        "before": "delete keys revoked or expired longer ago than this (e.g. 90d) or before "
        "this ISO 8601 instant (required)",
        "yes": YES_HELP,
    }
)
async def prune(rt: Runtime, before: str | None = None, yes: bool = False) -> None:
    """Delete keys revoked or expired before a moment (their audit events stay)."""
    from backend.app.core.durations import parse_moment
    from backend.app.models import utcnow

    if before is None:
        raise InvalidInput("--before is required (e.g. --before 90d)")
    cutoff = parse_moment(before, field="before", now=utcnow())
    from backend.app.services import revocation

    pruned = await revocation.prune_keys(rt.services(), before=cutoff, confirmed=rt.confirmed(yes))
    report_prune(rt, pruned, what="keys")
