"""Queries. Repositories add, get and list; they never commit (the service owns the transaction)."""

from typing import Any, TypeAlias

from sqlalchemy import Select

# A SELECT of plain columns, whatever they are (streamed as mappings by the services).
RowSelect: TypeAlias = Select[*tuple[Any, ...]]
