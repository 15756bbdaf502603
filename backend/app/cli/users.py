"""`users` tasks: people who log in, their roles and passwords."""

from __future__ import annotations

from backend.app.cli._common import (
    PASSWORD_HELP,
    YES_HELP,
    read_password,
    report_activation,
    require,
    user_record,
)
from backend.app.cli._runtime import Runtime, app_task
from backend.app.domain import parse_limit

USER_COLUMNS = [
    ("id", "ID"),
    ("email", "EMAIL"),
    ("name", "NAME"),
    ("role", "ROLE"),
    ("active", "ACTIVE"),
    ("created_at", "CREATED"),
]


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
    from backend.app.services.passwords import hash_password

    address = require(email, "--email")
    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=True
    )
    assert password is not None
    # Hash before the database stack is even imported: argon2's memory and SQLAlchemy's are
    # never held at once, which keeps the command's peak memory down (P3).
    hashed = await hash_password(rt.password_hasher, password.value)
    from backend.app.services import users

    change = await users.create_user(
        rt.services(),
        email=address,
        password=hashed,
        role=role,
        name=name,
        active=not inactive,
        if_not_exists=if_not_exists,
        details={"password_source": password.source},
    )
    data = {"status": "created" if change.changed else "unchanged", **user_record(change.value)}
    user = change.value
    if not change.changed:
        rt.out.record(data, text=f"unchanged: user {user.email} already exists")
        return
    text = f"created user {user.email} ({user.role}{'' if user.is_active else ', inactive'})"
    if password.generated:
        data["password"] = password.value
        text += f"\npassword (shown once): {password.value}"
    rt.out.result(data, text=text)


@app_task(
    name="list",
    help={
        "role": "only this role (admin or member)",
        "status": "active, inactive or all (default all)",
        "search": "only users whose email or name contains this text",
        "limit": "at most this many users",
    },
)
async def list_(
    rt: Runtime,
    role: str | None = None,
    status: str = "all",
    search: str | None = None,
    limit: str | None = None,
) -> None:
    """List users (every status unless --status), streamed in id order."""
    from backend.app.services import users

    async with users.list_users(
        rt.services(),
        role=role,
        status=status,
        search=search,
        limit=parse_limit(limit),
    ) as rows:
        await rt.out.table(rows, USER_COLUMNS, empty="(no users)")


@app_task(help={"email": "the user's email address"})
async def show(rt: Runtime, email: str) -> None:
    """Show one user."""
    from backend.app.services import users

    user, live_keys = await users.get_user(rt.services(), email=email)
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
    from backend.app.services.passwords import hash_password

    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=True
    )
    assert password is not None
    hashed = await hash_password(rt.password_hasher, password.value)  # see users.create
    from backend.app.services import users

    user = await users.set_password(
        rt.services(), email=email, password=hashed, source=password.source
    )
    data = {"status": "updated", **user_record(user)}
    text = f"password updated for {user.email}"
    if password.generated:
        data["password"] = password.value
        text += f"\npassword (shown once): {password.value}"
    rt.out.result(data, text=text)


@app_task(help={"email": "the user's email address", "role": "admin or member"})
async def set_role(rt: Runtime, email: str, role: str) -> None:
    """Make a user an admin or a member; unchanged when it already is."""
    from backend.app.services import users

    change = await users.set_role(rt.services(), email=email, role=role)
    user = change.value
    status = "updated" if change.changed else "unchanged"
    text = (
        f"{user.email} is now {user.role}"
        if change.changed
        else f"unchanged: {user.email} is already {user.role}"
    )
    rt.out.result({"status": status, **user_record(user)}, text=text)


async def _set_active(rt: Runtime, email: str, *, active: bool) -> None:
    from backend.app.services import users

    change = await users.set_active(rt.services(), email=email, active=active)
    report_activation(
        rt,
        changed=change.changed,
        active=active,
        label=change.value.email,
        record=user_record(change.value),
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
    from backend.app.services import users

    deleted = await users.delete_user(rt.services(), email=email, confirmed=rt.confirmed(yes))
    rt.out.result(
        {"status": "deleted", **user_record(deleted.user), "keys_deleted": deleted.keys_deleted},
        text=f"deleted user {deleted.user.email} and {deleted.keys_deleted} API key(s)",
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
    from backend.app.services import users

    password = read_password(
        rt, stdin=password_stdin, env=password_env, random=random_password, required=False
    )
    result = await users.seed_admin(
        rt.services(),
        email=email,
        password=password.value if password else None,
        source=password.source if password else None,
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
    text = f"created admin {user.email}"
    if shown:
        data["password"] = shown
        text += f"\npassword (shown once): {shown}"
    rt.out.result(data, text=text)
