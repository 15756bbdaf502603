"""The unit of work: one transaction, its repositories, and the translation of database errors.

``async with uow(ctx) as u:`` opens a transaction (SQLite takes the write lock at BEGIN for a
writing unit), exposes ``u.users``, ``u.keys``, ``u.accounts`` and ``u.audit``, commits when the
block ends and rolls back when it raises. Under a dry run the unit is a savepoint inside the
run's one transaction, so later units see its changes and nothing is ever committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.app.core.db_errors import classify_error
from backend.app.errors import AppError, Conflict
from backend.app.models import ApiKey, AuditEvent, ServiceAccount, User, utcnow
from backend.app.repositories.accounts import AccountRepository
from backend.app.repositories.audit import AuditRepository
from backend.app.repositories.keys import KeyRepository
from backend.app.repositories.users import UserRepository

if TYPE_CHECKING:
    from backend.app.repositories import RowSelect
    from backend.app.repositories.schema import Stamp
    from backend.app.services.context import ServiceContext

Audited = User | ServiceAccount | ApiKey


def uow(ctx: ServiceContext, *, write: bool = True) -> UnitOfWork:
    return UnitOfWork(ctx, write=write)


class UnitOfWork:
    users: UserRepository
    keys: KeyRepository
    accounts: AccountRepository
    audit: AuditRepository

    def __init__(self, ctx: ServiceContext, *, write: bool) -> None:
        self.ctx = ctx
        self.write = write
        self._connection: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work inside `async with`"
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._connection = self.ctx.database.connection(write=self.write)
        conn = await self._connection.__aenter__()
        try:
            # On a connection already in a transaction (a dry run), begin() is a savepoint.
            self._session = AsyncSession(
                bind=conn,
                expire_on_commit=False,
                autoflush=False,
                join_transaction_mode="create_savepoint",
            )
            await self._translated(self._session.begin())
        except BaseException as error:
            await self._connection.__aexit__(type(error), error, error.__traceback__)
            raise
        self.users = UserRepository(self._session)
        self.keys = KeyRepository(self._session)
        self.accounts = AccountRepository(self._session)
        self.audit = AuditRepository(self._session)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, connection = self.session, self._connection
        assert connection is not None
        try:
            if error is None:
                if self.write and self.ctx.database.checks_foreign_keys_late:
                    await self._check_foreign_keys()
                await self._translated(session.commit())
            else:
                await session.rollback()
        except BaseException as failure:
            await session.rollback()
            await session.close()
            await connection.__aexit__(type(failure), failure, failure.__traceback__)
            raise
        await session.close()
        await connection.__aexit__(kind, error, tb)
        if isinstance(error, Exception) and not isinstance(error, AppError):
            mapped = classify_error(error, self.ctx.database.where)
            if mapped is not None:
                raise mapped from error

    async def _translated(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except AppError:
            raise
        except Exception as error:
            mapped = classify_error(error, self.ctx.database.where)
            if mapped is None:
                raise
            raise mapped from error

    async def _check_foreign_keys(self) -> None:
        from backend.app.repositories.schema import orphaned_rows

        orphans = await self.session.run_sync(lambda s: orphaned_rows(s.connection()))
        if orphans:
            raise Conflict(
                f"the change would leave rows without their parent in {', '.join(orphans)}"
            )

    async def read_stamp(self) -> Stamp | None:
        """The profile the database was first migrated under (see repositories.schema)."""
        from backend.app.repositories.schema import read_stamp

        return await self.session.run_sync(lambda session: read_stamp(session.connection()))

    async def flush(self) -> None:
        await self._translated(self.session.flush())

    def record(
        self,
        action: str,
        target: Audited,
        details: Mapping[str, Any] | None = None,
        *,
        subject: str | None = None,
    ) -> AuditEvent:
        """Add the audit event to this transaction: the change and its event commit together.

        ``details`` must never carry a secret: callers pass only names, flags and ids. The
        target's name (email, account name, key prefix) and the subject (the principal it
        concerns: a key's owner, see ``principals.Owner.subject``) are kept as they were, so
        the trail stays true after the target is deleted.
        """
        event = AuditEvent(**self.event_for(action, target, details, subject=subject))
        self.audit.add(event)
        return event

    def event_for(
        self,
        action: str,
        target: Audited,
        details: Mapping[str, Any] | None = None,
        *,
        subject: str | None = None,
    ) -> dict[str, Any]:
        """The audit row :meth:`record` adds, as values: for :meth:`record_many`."""
        kind, label, own_subject = _describe(target)
        return self._event_values(
            action,
            target_type=kind,
            target_id=None if target.id is None else str(target.id),
            target=label,
            details=details,
            subject=subject or own_subject,
        )

    async def record_many(self, events: list[dict[str, Any]]) -> None:
        """Insert many audit rows (from :meth:`event_for`) in one executemany, in their order."""
        await self._translated(self.audit.add_many(events))

    def record_event(
        self,
        action: str,
        *,
        target_type: str,
        target_id: str | None = None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        subject: str | None = None,
    ) -> AuditEvent:
        """An audit event about something that is not one row (a prune, an import)."""
        event = AuditEvent(
            **self._event_values(
                action,
                target_type=target_type,
                target_id=target_id,
                target=target,
                details=details,
                subject=subject,
            )
        )
        self.audit.add(event)
        return event

    def _event_values(
        self,
        action: str,
        *,
        target_type: str,
        target_id: str | None,
        target: str | None,
        details: Mapping[str, Any] | None,
        subject: str | None,
    ) -> dict[str, Any]:
        return {
            "occurred_at": utcnow(),
            "actor": self.ctx.actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "target": target,
            "details": dict(details or {}),
            "subject": subject,
        }

    async def stream(self, query: RowSelect) -> AsyncIterator[Mapping[str, Any]]:
        """Rows of ``query`` as mappings, fetched in batches on this unit's connection.

        The rows are plain columns, so the query runs as Core: the ORM's per-row loading would
        only add cost. A batch per await: one greenlet switch per row costs more than the query.
        """
        conn = await self.session.connection()
        result = await conn.stream(query.execution_options(yield_per=1000))
        keys = list(result.keys())
        async for batch in result.partitions():
            for row in batch:
                yield dict(zip(keys, row, strict=True))


def _describe(target: Audited) -> tuple[str, str, str | None]:
    if isinstance(target, User):
        return "user", target.email, f"user:{target.email}"
    if isinstance(target, ServiceAccount):
        return "account", target.name, f"account:{target.name}"
    return "key", target.display_prefix, None


@asynccontextmanager
async def schema_uow(ctx: ServiceContext, *, create: bool) -> AsyncIterator[AsyncConnection]:
    """The unit of work of a schema operation: one migration connection (see
    ``Database.migration_connection``), one transaction (a savepoint under a dry run),
    committed when the block ends, rolled back when it raises."""
    database = ctx.database
    async with database.migration_connection(create=create) as conn:
        try:
            transaction = conn.begin_nested() if conn.in_transaction() else conn.begin()
            async with transaction:
                yield conn
        except AppError:
            raise
        except Exception as error:
            mapped = classify_error(error, database.where)
            if mapped is None:
                raise
            raise mapped from error
