"""roster snapshot counties: which insured counties a snapshot lists

A person missing from the snapshot is `unknown`, never "not registered" (ADR 0011); the answer
says whether the snapshot covers the county the hospital reported. Filled at load time; existing
snapshots are filled here from their entries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_snapshots = sa.table(
    "roster_snapshots", sa.column("id", sa.BigInteger), sa.column("counties", sa.JSON)
)
_entries = sa.table(
    "roster_entries", sa.column("snapshot_id", sa.BigInteger), sa.column("insured_county")
)


def upgrade() -> None:
    with op.batch_alter_table("roster_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counties", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_entries.c.snapshot_id, _entries.c.insured_county).distinct()
    ).all()
    counties: dict[int, set[str]] = {}
    for snapshot_id, county in rows:
        counties.setdefault(int(snapshot_id), set()).add(str(county))
    for snapshot_id, found in counties.items():
        conn.execute(
            sa.update(_snapshots)
            .where(_snapshots.c.id == snapshot_id)
            .values(counties=sorted(found))
        )


def downgrade() -> None:
    with op.batch_alter_table("roster_snapshots", schema=None) as batch_op:
        batch_op.drop_column("counties")
