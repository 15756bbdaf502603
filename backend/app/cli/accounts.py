"""`accounts` tasks: service accounts, the non-human owners of API keys (CI, other services)."""

from __future__ import annotations

from backend.app.cli._common import YES_HELP, account_record, report_activation
from backend.app.cli._runtime import Runtime, app_task
from backend.app.cli.transfer import accounts_export, accounts_import  # noqa: F401 (tasks of this namespace)
from backend.app.domain import AccountName, parse_text

ACCOUNT_COLUMNS = [
    ("id", "ID"),
    ("name", "NAME"),
    ("active", "ACTIVE"),
    ("created_at", "CREATED"),
    ("description", "DESCRIPTION"),
]


@app_task(
    help={
        "name": "a slug: lower-case letters, digits and hyphens (e.g. ci-deploy)",
        "description": "what the account is for",
    }
)
async def create(rt: Runtime, name: str, description: str | None = None) -> None:
    """Create a service account."""
    account_name = AccountName.parse(name)
    text = parse_text(description, field="description", limit=500)
    from backend.app.services import accounts

    account = await accounts.create_account(rt.services(), name=account_name, description=text)
    rt.out.result(
        {"status": "created", **account_record(account)},
        text=f"created service account {account.name}",
    )


@app_task(name="list", help={"all": "include deactivated accounts"})
async def list_(rt: Runtime, all: bool = False) -> None:
    """List active service accounts (all of them with --all)."""
    from backend.app.services import accounts

    async with accounts.list_accounts(rt.services(), include_inactive=all) as rows:
        await rt.out.table(rows, ACCOUNT_COLUMNS, empty="(no service accounts)")


@app_task(help={"name": "the account's name"})
async def show(rt: Runtime, name: str) -> None:
    """Show one service account."""
    account_name = AccountName.parse(name)
    from backend.app.services import principals

    account, live_keys = await principals.get_with_live_keys(rt.services(), account_name)
    rt.out.record({**account_record(account), "live_api_keys": live_keys})


async def _set_active(rt: Runtime, name: str, *, active: bool) -> None:
    account_name = AccountName.parse(name)
    from backend.app.services import principals

    change = await principals.set_active(rt.services(), account_name, active=active)
    account = change.value
    report_activation(
        rt,
        changed=change.changed,
        active=active,
        label=account.name,
        record=account_record(account),
    )


@app_task(help={"name": "the account's name"})
async def activate(rt: Runtime, name: str) -> None:
    """Reactivate a service account (its unexpired keys verify again)."""
    await _set_active(rt, name, active=True)


@app_task(help={"name": "the account's name"})
async def deactivate(rt: Runtime, name: str) -> None:
    """Deactivate a service account; its API keys stop verifying meanwhile."""
    await _set_active(rt, name, active=False)


@app_task(help={"name": "the account's name", "yes": YES_HELP})
async def delete(rt: Runtime, name: str, yes: bool = False) -> None:
    """Delete a service account and its API keys (destructive: needs --yes)."""
    account_name = AccountName.parse(name)
    from backend.app.services import principals

    deleted = await principals.delete(rt.services(), account_name, confirmed=rt.confirmed(yes))
    account = deleted.principal
    rt.out.result(
        {"status": "deleted", **account_record(account), "keys_deleted": deleted.keys_deleted},
        text=f"deleted service account {account.name} and {deleted.keys_deleted} API key(s)",
    )
