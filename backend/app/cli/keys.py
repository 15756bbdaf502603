"""`keys` tasks: issue, list, revoke, rotate and verify API keys."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.app.cli._common import NOT_CREATED
from backend.app.cli._output import format_time
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli.revoking import prune, revoke  # noqa: F401 (tasks of this namespace)
from backend.app.domain import AccountName, Email, parse_id
from backend.app.errors import AuthenticationFailed, InvalidInput

if TYPE_CHECKING:
    from backend.app.models import ApiKey
    from backend.app.services.keys import Default, IssuedKey
    from backend.app.services.principals import PrincipalName

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


def owner_of(user: str | None, account: str | None, *, required: bool) -> PrincipalName | None:
    if user is not None and account is not None:
        raise InvalidInput("give only one owner: --user EMAIL or --account NAME")
    if user is not None:
        return Email.parse(user)
    if account is not None:
        return AccountName.parse(account)
    if required:
        raise InvalidInput("give the owner: --user EMAIL or --account NAME")
    return None


def expiry(
    expires_in: str | None, expires_at: str | None, no_expiry: bool
) -> datetime | Default | None:
    """At most one of the three flags; without any, the owner kind's default lifetime."""
    from backend.app.core.durations import parse_duration, parse_instant
    from backend.app.models import utcnow
    from backend.app.services.keys import DEFAULT_EXPIRY

    given = [
        flag
        for flag, on in (
            ("--expires-in", expires_in is not None),
            ("--expires-at", expires_at is not None),
            ("--no-expiry", no_expiry),
        )
        if on
    ]
    if len(given) > 1:
        raise InvalidInput(f"give only one of {', '.join(given)}")
    if no_expiry:
        return None
    if expires_in is not None:
        lifetime = parse_duration(expires_in, field="expires_in")
        if lifetime <= timedelta(0):
            raise InvalidInput("{field} must be longer than zero", field="expires_in")
        return utcnow() + lifetime
    if expires_at is not None:
        return parse_instant(expires_at, field="expires_at")
    return DEFAULT_EXPIRY


def _quiet_allowed(rt: Runtime, quiet: bool) -> None:
    if quiet and rt.out.as_json:
        raise InvalidInput("--quiet and --json (or APP_OUTPUT=json) cannot be combined")


def _show_issued(rt: Runtime, issued: IssuedKey, *, quiet: bool, status: str, **extra: Any) -> None:
    """The one time the raw key is printed: to stdout, once (never under a dry run)."""
    raw = NOT_CREATED if rt.dry_run else issued.raw
    if quiet:
        rt.out.result({}, text=raw)
        return
    record = key_record(issued.key, owner_type=issued.owner.kind, owner=issued.owner.name)
    data = {"status": status, **record, **extra, "key": None if rt.dry_run else issued.raw}
    expires = format_time(record["expires_at"]) if record["expires_at"] else "never"
    text = (
        f"{status} key {issued.key.id} ({issued.key.display_prefix}) for "
        f"{issued.owner.kind} {issued.owner.name}, expires {expires}\n"
        f"key (shown once, store it now): {raw}"
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
    from backend.app.domain import parse_scopes, parse_text

    _quiet_allowed(rt, quiet)
    owner = owner_of(user, account, required=True)
    assert owner is not None
    label = parse_text(name, field="name", limit=200)
    scopes = parse_scopes(scope or [])
    expires = expiry(expires_in, expires_at, no_expiry)
    from backend.app.services import keys

    issued = await keys.create_key(
        rt.services(), owner=owner, name=label, scopes=scopes, expires=expires
    )
    _show_issued(rt, issued, quiet=quiet, status="created")


@app_task(
    name="list",
    help={
        **OWNER_HELP,
        "all": "include revoked and expired keys",
        "unused_for": "only keys not used for this long (e.g. 90d); a never used key counts "
        "from its creation",
        "expiring_within": "only live keys that expire within this long (e.g. 14d)",
    },
)
async def list_(
    rt: Runtime,
    user: str | None = None,
    account: str | None = None,
    all: bool = False,
    unused_for: str | None = None,
    expiring_within: str | None = None,
) -> None:
    """List live API keys (revoked and expired ones too with --all); never the keys themselves."""
    from backend.app.core.durations import parse_duration
    from backend.app.models import utcnow

    owner = owner_of(user, account, required=False)
    now = utcnow()
    unused = parse_duration(unused_for, field="unused_for") if unused_for is not None else None
    soon = (
        parse_duration(expiring_within, field="expiring_within")
        if expiring_within is not None
        else None
    )
    from backend.app.services import keys

    async with keys.list_keys(
        rt.services(),
        owner=owner,
        include_all=all,
        unused_since=now - unused if unused is not None else None,
        expiring_before=now + soon if soon is not None else None,
    ) as rows:
        await rt.out.table(rows, KEY_COLUMNS, empty="(no API keys)")


@app_task(help={"id": "the key's id (from keys.list)"})
async def show(rt: Runtime, id: str) -> None:
    """Show one API key (its display prefix, never the key)."""
    key_id = parse_id(id, what="key")
    from backend.app.services import keys

    details = await keys.get_key(rt.services(), key_id=key_id)
    record = key_record(details.key, owner_type=details.owner.kind, owner=details.owner.name)
    rt.out.record({**record, "status": details.status.value, "replaced_by": details.replaced_by})


@app_task(
    help={
        "id": "the key's id (from keys.list)",
        "grace": "let the old key work this long (e.g. 24h); by default, or 0, it stops at once",
        "quiet": QUIET_HELP,
    }
)
async def rotate(rt: Runtime, id: str, grace: str | None = None, quiet: bool = False) -> None:
    """Replace an API key with a new one (same owner, name, scopes); the new key is printed once."""
    from backend.app.core.durations import parse_duration

    _quiet_allowed(rt, quiet)
    key_id = parse_id(id, what="key")
    window = parse_duration(grace, field="grace") if grace is not None else None
    from backend.app.services import keys

    rotation = await keys.rotate_key(rt.services(), key_id=key_id, grace=window)
    old = rotation.old
    _show_issued(
        rt,
        rotation.new,
        quiet=quiet,
        status="rotated",
        replaces=old.id,
        old_key_ends=old.revoked_at or old.expires_at,
    )


@app_task(
    help={"quiet": "print nothing: the exit code alone says valid (0) or not; not with --json"}
)
async def verify(rt: Runtime, quiet: bool = False) -> None:
    """Check the API key on stdin (read-only): exit 0 if valid, 2 if malformed, 3 if rejected."""
    _quiet_allowed(rt, quiet)
    raw = read_key()
    from backend.app.services import authn

    check = await authn.inspect(rt.services(), raw)
    data = {
        "valid": check.valid,
        "reason": check.reason,
        "key_id": check.key_id,
        "display_prefix": check.display_prefix,
        "owner_type": check.owner_type,
        "owner": check.owner,
        "status": check.status,
        "scopes": list(check.scopes),
        "expires_at": check.expires_at,
        "last_used_at": check.last_used_at,
    }
    which = (
        f"key {check.key_id} ({check.display_prefix}) of {check.owner_type} {check.owner}"
        if check.key_id is not None
        else "no such key"
    )
    if not quiet:
        scopes = ", ".join(check.scopes) or "none"
        text = f"valid: {which} (scopes: {scopes})" if check.valid else f"rejected: {which}"
        rt.out.result(data, text=text)
    if not check.valid:
        reason = check.reason or "unknown"
        raise AuthenticationFailed(f"API key rejected ({reason}): {which}", reason=reason)


def read_key() -> str:
    """One API key from standard input (a terminal is asked, without echo)."""
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
