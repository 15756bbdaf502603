<%!
    import json

    def literal(value):
        # Double quotes and sorted imports, as ruff wants them: a new revision passes the lint
        # as written, even where no post-write hook reformats it (an installed package).
        if value is None:
            return "None"
        if isinstance(value, str):
            return json.dumps(value)
        items = [literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

    def unused(name, *bodies):
        # An empty revision keeps `op` and `sa` for the body its author writes next.
        return "" if any(name + "." in (body or "") for body in bodies) else "  # noqa: F401"
%>\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa${unused("sa", upgrades, downgrades)}
from alembic import op${unused("op", upgrades, downgrades)}
${imports + "\n" if imports else ""}
revision: str = ${literal(up_revision)}
down_revision: str | Sequence[str] | None = ${literal(down_revision)}
branch_labels: str | Sequence[str] | None = ${literal(branch_labels)}
depends_on: str | Sequence[str] | None = ${literal(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
