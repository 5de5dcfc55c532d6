"""schedules fall with their discharge: an instalment schedule agreed on a stay's discharge is
dropped when that discharge (the stay's final settlement) is reversed (ADR 0025, amendment 1)

receivable_instalments gains `dropped_at` and `dropped_by` (the settlement reversal); the unique
(receivable_id, seq) becomes a unique index over the rows not dropped, so a receivable keeps its
dropped schedules as history beside the one agreed on the corrected discharge.

Rows stored before: a stage's share's schedule agreed before its visit's active final
settlement was recorded (or while there is none, the final reversed) was agreed on a discharge
since reversed: it is dropped now (`dropped_by` unknown, NULL). Downgrade deletes dropped rows,
which the old unique constraint cannot hold beside a new schedule.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

import service.base
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_at = service.base.UTCDateTime(timezone=True)
_IN_FORCE = sa.text("dropped_at IS NULL")
instalments = sa.table(
    "receivable_instalments",
    sa.column("id", sa.BigInteger()),
    sa.column("receivable_id", sa.BigInteger()),
    sa.column("agreed_at", _at),
    sa.column("dropped_at", _at),
)
receivables = sa.table(
    "receivables",
    sa.column("id", sa.BigInteger()),
    sa.column("settlement_id", sa.BigInteger()),
    sa.column("status", sa.String()),
)
settlements = sa.table(
    "settlements",
    sa.column("id", sa.BigInteger()),
    sa.column("hospital_code", sa.String()),
    sa.column("visit_id", sa.String()),
    sa.column("mid_settlement", sa.Boolean()),
    sa.column("created_at", _at),
)
reversals = sa.table("settlement_reversals", sa.column("settlement_id", sa.BigInteger()))


def _drop_stale(conn: sa.Connection) -> None:
    r, s, i = receivables, settlements, instalments
    scheduled_stages = (
        sa.select(r.c.id, s.c.hospital_code, s.c.visit_id)
        .select_from(r.join(s, s.c.id == r.c.settlement_id))
        .where(s.c.mid_settlement.is_(True), r.c.status != "cancelled")
        .where(sa.exists().where(i.c.receivable_id == r.c.id, i.c.dropped_at.is_(None)))
    )
    final = (
        sa.select(s.c.created_at)
        .where(
            s.c.hospital_code == sa.bindparam("h"),
            s.c.visit_id == sa.bindparam("v"),
            s.c.mid_settlement.is_(False),
            ~sa.exists().where(reversals.c.settlement_id == s.c.id),
        )
        .limit(1)
    )
    now = datetime.now(UTC)
    for rid, hospital, visit in list(conn.execute(scheduled_stages)):
        recorded = conn.execute(final, {"h": hospital, "v": visit}).scalar()
        stale = i.c.receivable_id == rid, i.c.dropped_at.is_(None)
        if recorded is not None:
            stale = (*stale, i.c.agreed_at < recorded)
        conn.execute(sa.update(i).where(*stale).values(dropped_at=now))


def upgrade() -> None:
    with op.batch_alter_table("receivable_instalments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped_at", _at, nullable=True))
        batch_op.add_column(sa.Column("dropped_by", sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(
            batch_op.f("uq_receivable_instalments_receivable_id_seq"), type_="unique"
        )
        batch_op.create_index(
            "uq_receivable_instalments_in_force",
            ["receivable_id", "seq"],
            unique=True,
            sqlite_where=_IN_FORCE,
            postgresql_where=_IN_FORCE,
        )
    _drop_stale(op.get_bind())


def downgrade() -> None:
    op.get_bind().execute(sa.delete(instalments).where(instalments.c.dropped_at.is_not(None)))
    with op.batch_alter_table("receivable_instalments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_receivable_instalments_in_force",
            sqlite_where=_IN_FORCE,
            postgresql_where=_IN_FORCE,
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_receivable_instalments_receivable_id_seq"), ["receivable_id", "seq"]
        )
        batch_op.drop_column("dropped_by")
        batch_op.drop_column("dropped_at")
