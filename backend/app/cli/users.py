"""`users` tasks: people who log in, their roles and passwords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.app.cli._common import (
    NOT_CREATED,
    PASSWORD_HELP,
    YES_HELP,
    Password,
    read_password,
    report_activation,
    require,
    user_record,
)
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli.transfer import users_export, users_import  # noqa: F401 (tasks of this namespace)
from backend.app.domain import Email, Role, StatusFilter, parse_count, parse_enum, parse_text

if TYPE_CHECKING:
    import asyncio

    from backend.app.services.passwords import HashedPassword

USER_COLUMNS = [
    ("id", "ID"),
    ("email", "EMAIL"),
    ("name", "NAME"),
    ("role", "ROLE"),
    ("active", "ACTIVE"),
    ("created_at", "CREATED"),
]


def _start_hashing(rt: Runtime, password: Password) -> asyncio.Future[HashedPassword]:
    """Check the password and start hashing it before the database stack is even imported: the
    hash runs on a worker thread while the stack loads (see ``services.passwords``)."""
    from backend.app.services.passwords import start_hashing

    return start_hashing(rt.password_hasher, password.value)


def _with_secret(rt: Runtime, data: dict[str, Any], text: str, password: str | None) -> str:
    """Add a generated password, shown once (never under a dry run: it was not created)."""
    if password is None:
        return text
    data["password"] = None if rt.dry_run else password
    return text + f"\npassword (shown once): {NOT_CREATED if rt.dry_run else password}"


@app_task(
    help={
        "email": "the user's email address (required; stored in lower case)",
        "role": "admin or member (default member)",
        "name": "display name",
        "inactive": "create the user deactivated",
        "if_not_exists": "succeed without changes when the user already exists",
        **PASSWORD_HELP,
    }
)
async def create(
    rt: Runtime,
    email: str | None = None,
    role: str = "member",
    name: str | None = None,
    inactive: bool = False,
    password_stdin: bool = False,
    password_env: str | None = None,
    random_password: bool = False,
    if_not_exists: bool = False,
) -> None:
    """Create a user with a password from stdin, an environment variable, or generated."""
    address = Email.parse(require(email, "--email"))
    chosen = parse_enum(Role, role, field="role")
    display = parse_text(name, field="name", limit=200)
    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=True
    )
    assert password is not None
    hashing = _start_hashing(rt, password)
    from backend.app.services import users

    services = rt.services()
    hashed = await hashing
    change = await users.create_user(
        services,
        email=address,
        password=hashed,
        role=chosen,
        name=display,
        active=not inactive,
        if_not_exists=if_not_exists,
        details={"password_source": password.source},
    )
    user = change.value
    data = {"status": "created" if change.changed else "unchanged", **user_record(user)}
    if not change.changed:
        rt.out.record(data, text=f"unchanged: user {user.email} already exists")
        return
    text = f"created user {user.email} ({user.role}{'' if user.is_active else ', inactive'})"
    generated = password.value if password.generated else None
    rt.out.result(data, text=_with_secret(rt, data, text, generated))


@app_task(
    name="list",
    help={
        "role": "only this role (admin or member)",
        "status": "active, inactive or all (default all)",
        "search": "only users whose email or name contains this text",
        "no_login_for": "only users who have not logged in for this long (e.g. 90d), or never",
        "limit": "at most this many users",
    },
)
async def list_(
    rt: Runtime,
    role: str | None = None,
    status: str = "all",
    search: str | None = None,
    no_login_for: str | None = None,
    limit: str | None = None,
) -> None:
    """List users (every status unless --status), streamed in id order."""
    from backend.app.core.durations import parse_duration
    from backend.app.models import utcnow

    chosen_role = parse_enum(Role, role, field="role") if role is not None else None
    chosen_status = parse_enum(StatusFilter, status, field="status")
    since = None
    if no_login_for is not None:
        since = utcnow() - parse_duration(no_login_for, field="no_login_for")
    count = parse_count(limit, field="limit") if limit is not None else None
    from backend.app.services import users

    async with users.list_users(
        rt.services(),
        role=chosen_role,
        status=chosen_status,
        search=search,
        no_login_since=since,
        limit=count,
        times_as_text=True,  # printed as they come: formatted by the database
    ) as rows:
        await rt.out.table(rows, USER_COLUMNS, empty="(no users)")


@app_task(help={"email": "the user's email address"})
async def show(rt: Runtime, email: str) -> None:
    """Show one user."""
    from backend.app.services import principals

    user, live_keys = await principals.get_with_live_keys(rt.services(), Email.parse(email))
    rt.out.record({**user_record(user), "live_api_keys": live_keys})


@app_task(help={"email": "the user's email address", **PASSWORD_HELP})
async def set_password(
    rt: Runtime,
    email: str,
    password_stdin: bool = False,
    password_env: str | None = None,
    random_password: bool = False,
) -> None:
    """Replace a user's password (from stdin, an environment variable, or generated)."""
    address = Email.parse(email)
    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=True
    )
    assert password is not None
    hashing = _start_hashing(rt, password)
    from backend.app.services import users

    services = rt.services()
    user = await users.set_password(
        services, email=address, password=await hashing, source=password.source
    )
    data = {"status": "updated", **user_record(user)}
    text = f"password updated for {user.email}"
    generated = password.value if password.generated else None
    rt.out.result(data, text=_with_secret(rt, data, text, generated))


@app_task(help={"email": "the user's email address", "role": "admin or member"})
async def set_role(rt: Runtime, email: str, role: str) -> None:
    """Make a user an admin or a member; unchanged when it already is."""
    address, chosen = Email.parse(email), parse_enum(Role, role, field="role")
    from backend.app.services import users

    change = await users.set_role(rt.services(), email=address, role=chosen)
    user = change.value
    status = "updated" if change.changed else "unchanged"
    text = (
        f"{user.email} is now {user.role}"
        if change.changed
        else f"unchanged: {user.email} is already {user.role}"
    )
    rt.out.result({"status": status, **user_record(user)}, text=text)


async def _set_active(rt: Runtime, email: str, *, active: bool) -> None:
    address = Email.parse(email)
    from backend.app.services import principals

    change = await principals.set_active(rt.services(), address, active=active)
    user = change.value
    report_activation(
        rt, changed=change.changed, active=active, label=user.email, record=user_record(user)
    )


@app_task(help={"email": "the user's email address"})
async def activate(rt: Runtime, email: str) -> None:
    """Let a user log in again (and its API keys verify again)."""
    await _set_active(rt, email, active=True)


@app_task(help={"email": "the user's email address"})
async def deactivate(rt: Runtime, email: str) -> None:
    """Stop a user from logging in; its API keys stop verifying too."""
    await _set_active(rt, email, active=False)


@app_task(help={"email": "the user's email address", "yes": YES_HELP})
async def delete(rt: Runtime, email: str, yes: bool = False) -> None:
    """Delete a user and its API keys (destructive: needs --yes)."""
    address = Email.parse(email)
    from backend.app.services import principals

    deleted = await principals.delete(rt.services(), address, confirmed=rt.confirmed(yes))
    user = deleted.principal
    rt.out.result(
        {"status": "deleted", **user_record(user), "keys_deleted": deleted.keys_deleted},
        text=f"deleted user {user.email} and {deleted.keys_deleted} API key(s)",
    )


@app_task(
    help={
        "email": "the admin's email (default: admin_email, i.e. APP_ADMIN_EMAIL)",
        **PASSWORD_HELP,
    }
)
async def seed_admin(
    rt: Runtime,
    email: str | None = None,
    password_stdin: bool = False,
    password_env: str | None = None,
    random_password: bool = False,
) -> None:
    """Create the admin user unless it exists (idempotent; never changes an existing user)."""
    address = Email.parse(email) if email is not None else None
    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=False
    )
    from backend.app.services import users

    result = await users.seed_admin(
        rt.services(),
        email=address,
        password=password.value if password else None,
        source=password.source if password else None,
        details={"via": "users.seed-admin"},
    )
    for warning in result.warnings:
        rt.out.warn(warning)
    user = result.user
    data = {"status": "created" if result.created else "unchanged", **user_record(user)}
    if not result.created:
        rt.out.result(data, text=f"unchanged: {user.email} already exists")
        return
    shown = result.generated_password or (
        password.value if password and password.generated else None
    )
    rt.out.result(data, text=_with_secret(rt, data, f"created admin {user.email}", shown))
