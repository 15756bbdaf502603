"""Queries: all of the backend's SQL. Repositories get, add, list and delete; they never commit
(the unit of work owns the transaction, see services.uow)."""

from typing import Any, TypeAlias

from sqlalchemy import Select

# A SELECT of plain columns, whatever they are (streamed as mappings by the unit of work).
RowSelect: TypeAlias = Select[*tuple[Any, ...]]
