"""`keys` tasks: issue, list, revoke, rotate and verify API keys."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from backend.app.cli._output import format_time
from backend.app.cli._runtime import Runtime, app_task
from backend.app.domain import parse_id
from backend.app.errors import AuthenticationFailed, InvalidInput

if TYPE_CHECKING:
    from backend.app.models import ApiKey
    from backend.app.services.keys import IssuedKey

KEY_COLUMNS = [
    ("id", "ID"),
    ("display_prefix", "KEY"),
    ("name", "NAME"),
    ("owner", "OWNER"),
    ("scopes", "SCOPES"),
    ("expires_at", "EXPIRES"),
    ("last_used_at", "LAST USED"),
    ("status", "STATUS"),
]
QUIET_HELP = "print only the new key and a newline (for KEY=$(inv ...)); not with --json"
OWNER_HELP = {
    "user": "the owning user's email",
    "account": "the owning service account's name",
}


def key_record(key: ApiKey, *, owner_type: str, owner: str) -> dict[str, Any]:
    return {
        "id": key.id,
        "display_prefix": key.display_prefix,
        "name": key.name,
        "owner_type": owner_type,
        "owner": owner,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
        "rotated_from_id": key.rotated_from_id,
    }


def _quiet_allowed(rt: Runtime, quiet: bool) -> None:
    if quiet and rt.out.as_json:
        raise InvalidInput("--quiet and --json (or APP_OUTPUT=json) cannot be combined")


def _show_issued(rt: Runtime, issued: IssuedKey, *, quiet: bool, status: str, **extra: Any) -> None:
    """The one time the raw key is printed: to stdout, once."""
    if quiet:
        rt.out.result({}, text=issued.raw)
        return
    record = key_record(issued.key, owner_type=issued.owner.kind, owner=issued.owner.name)
    data = {"status": status, **record, **extra, "key": issued.raw}
    expires = format_time(record["expires_at"]) if record["expires_at"] else "never"
    text = (
        f"{status} key {issued.key.id} ({issued.key.display_prefix}) for "
        f"{issued.owner.kind} {issued.owner.name}, expires {expires}\n"
        f"key (shown once, store it now): {issued.raw}"
    )
    rt.out.result(data, text=text)


@app_task(
    iterable=["scope"],
    help={
        **OWNER_HELP,
        "name": "what the key is for",
        "scope": "a scope the key grants (repeat the flag for several, e.g. --scope users:read)",
        "expires_in": "lifetime such as 90d, 24h or 2w (default from settings)",
        "expires_at": "expiry in ISO 8601, e.g. 2027-01-31T12:00:00Z (UTC when no zone is given)",
        "no_expiry": "the key never expires",
        "quiet": QUIET_HELP,
    },
)
async def create(
    rt: Runtime,
    user: str | None = None,
    account: str | None = None,
    name: str | None = None,
    scope: list[str] | None = None,
    # None, not "", so that an explicitly empty value is rejected rather than read as absent.
    expires_in: str | None = None,
    expires_at: str | None = None,
    no_expiry: bool = False,
    quiet: bool = False,
) -> None:
    """Issue an API key to a user or service account; the key is printed once."""
    from backend.app.services import keys

    _quiet_allowed(rt, quiet)
    issued = await keys.create_key(
        rt.services(),
        user=user,
        account=account,
        name=name,
        scopes=scope or [],
        expires_in=expires_in,
        expires_at=expires_at,
        no_expiry=no_expiry,
    )
    _show_issued(rt, issued, quiet=quiet, status="created")


@app_task(
    name="list",
    help={**OWNER_HELP, "all": "include revoked and expired keys"},
)
async def list_(
    rt: Runtime, user: str | None = None, account: str | None = None, all: bool = False
) -> None:
    """List live API keys (revoked and expired ones too with --all); never the keys themselves."""
    from backend.app.services import keys

    async with keys.list_keys(rt.services(), user=user, account=account, include_all=all) as rows:
        await rt.out.table(rows, KEY_COLUMNS, empty="(no API keys)")


@app_task(help={"id": "the key's id (from keys.list)"})
async def show(rt: Runtime, id: str) -> None:
    """Show one API key (its display prefix, never the key)."""
    from backend.app.services import keys

    details = await keys.get_key(rt.services(), key_id=parse_id(id, what="key"))
    record = key_record(details.key, owner_type=details.owner.kind, owner=details.owner.name)
    rt.out.record({**record, "status": details.status, "replaced_by": details.replaced_by})


@app_task(help={"id": "the key's id (from keys.list)"})
async def revoke(rt: Runtime, id: str) -> None:
    """Revoke an API key at once; unchanged when it already is."""
    from backend.app.services import keys

    change = await keys.revoke_key(rt.services(), key_id=parse_id(id, what="key"))
    key = change.value
    status = "revoked" if change.changed else "unchanged"
    text = (
        f"revoked key {key.id} ({key.display_prefix})"
        if change.changed
        else f"unchanged: key {key.id} was already revoked"
    )
    rt.out.result({"status": status, "id": key.id, "revoked_at": key.revoked_at}, text=text)


@app_task(
    help={
        "id": "the key's id (from keys.list)",
        "grace": "let the old key keep working this long (e.g. 24h); default: it stops at once",
        "quiet": QUIET_HELP,
    }
)
async def rotate(rt: Runtime, id: str, grace: str | None = None, quiet: bool = False) -> None:
    """Replace an API key with a new one (same owner, name, scopes); the new key is printed once."""
    from backend.app.services import keys

    _quiet_allowed(rt, quiet)
    rotation = await keys.rotate_key(rt.services(), key_id=parse_id(id, what="key"), grace=grace)
    old = rotation.old
    _show_issued(
        rt,
        rotation.new,
        quiet=quiet,
        status="rotated",
        replaces=old.id,
        old_key_ends=old.revoked_at or old.expires_at,
    )


@app_task()
async def verify(rt: Runtime) -> None:
    """Check the API key given on stdin: exit 0 if valid, 2 if malformed, 3 if rejected."""
    from backend.app.services import keys

    raw = _read_key()
    try:
        principal = await keys.authenticate(rt.services(), raw)
    except keys.KeyRejected as rejected:
        raise AuthenticationFailed(
            f"API key rejected: {rejected.reason}", reason=rejected.reason
        ) from None
    data = {
        "valid": True,
        "key_id": principal.key_id,
        "owner_type": principal.kind,
        "owner": principal.name,
        "role": principal.role,
        "scopes": list(principal.scopes),
    }
    scopes = ", ".join(principal.scopes) or "none"
    rt.out.result(
        data,
        text=f"valid: key {principal.key_id} of {principal.kind} {principal.name} "
        f"(scopes: {scopes})",
    )


def _read_key() -> str:
    if sys.stdin is None:
        raise InvalidInput("no API key: pipe it to standard input")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("API key: ")
    try:
        line = sys.stdin.readline(512)
    except UnicodeDecodeError:  # a strict UTF-8 locale; its message would quote the bytes
        raise InvalidInput("malformed API key: standard input is not UTF-8 text") from None
    if not line.strip():
        raise InvalidInput("no API key on standard input")
    return line.strip()
