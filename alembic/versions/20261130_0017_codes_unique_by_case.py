"""codes unique by case: no hospital or fund beside a twin that differs only by case

Requests refuse a lower-case hospital or fund code (service/schemas.py `Code`); these unique
indexes on upper(code) refuse, in the database too, `h990102002` beside `H990102002`, which
keys, admissions and clearing would take for two hospitals. A database that already holds such
twins is not changed: the upgrade stops and names them, since which one is right (and every
admission, settlement, statement and hash-chained finding that names the other) is for an
operator to decide, not for a migration to fold.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("hospitals", "funds")


def _twins(table: str) -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            f"SELECT code FROM {table} WHERE upper(code) IN "
            f"(SELECT upper(code) FROM {table} GROUP BY upper(code) HAVING count(*) > 1) "
            "ORDER BY upper(code), code"
        )
    )
    return [row[0] for row in rows]


def upgrade() -> None:
    found = {table: twins for table in TABLES if (twins := _twins(table))}
    if found:
        named = "; ".join(f"{table}: {', '.join(codes)}" for table, codes in found.items())
        raise RuntimeError(
            f"codes that differ only by case: {named}. Keep one of each (the upper-case one, "
            "as NHSA writes institution codes), move what names the other to it, then upgrade."
        )
    for table in TABLES:
        op.create_index(f"uq_{table}_code_upper", table, [sa.text("upper(code)")], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"uq_{table}_code_upper", table_name=table)
