"""stage shares due from discharge: a stage's share (中途结算) is owed from the stay's discharge
(ADR 0025)

receivables.discharged_at and receivables.due_on become nullable: both are NULL while a stage's
share waits for the stay's final settlement, which sets them (its reversal clears them again);
a CHECK keeps them NULL together.

Rows stored before: a stage's share not cancelled took its due date from the stage. It now
counts from the visit's active final settlement, by its own terms' days, or waits (NULL) while
there is none. Downgrade gives every stage's share its stage's end back, as the old rule did.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

import service.base
from alembic import op
from service.china_time import local_date

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_at = service.base.UTCDateTime(timezone=True)
receivables = sa.table(
    'receivables',
    sa.column('id', sa.BigInteger()),
    sa.column('settlement_id', sa.BigInteger()),
    sa.column('discharged_at', _at),
    sa.column('due_on', sa.Date()),
    sa.column('terms', sa.JSON()),
    sa.column('status', sa.String()),
)
settlements = sa.table(
    'settlements',
    sa.column('id', sa.BigInteger()),
    sa.column('hospital_code', sa.String()),
    sa.column('visit_id', sa.String()),
    sa.column('mid_settlement', sa.Boolean()),
    sa.column('discharged_at', _at),
)
reversals = sa.table('settlement_reversals', sa.column('settlement_id', sa.BigInteger()))
_active = ~sa.exists().where(reversals.c.settlement_id == settlements.c.id)


def _due(discharged_at: datetime, terms: dict[str, Any]) -> date:
    """Terms.due_on as it was written when this revision was: N days after the China day."""
    return local_date(discharged_at) + timedelta(days=int(terms['due_days_after_discharge']))


def _stage_shares(conn: sa.Connection) -> list[Any]:
    r, s = receivables, settlements
    query = (
        sa.select(r.c.id, r.c.terms, s.c.hospital_code, s.c.visit_id)
        .select_from(r.join(s, s.c.id == r.c.settlement_id))
        .where(s.c.mid_settlement.is_(True), r.c.status != 'cancelled')
    )
    return list(conn.execute(query))


def _set(conn: sa.Connection, rid: int, at: datetime | None, due: date | None) -> None:
    conn.execute(
        sa.update(receivables).where(receivables.c.id == rid).values(discharged_at=at, due_on=due)
    )


def upgrade() -> None:
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.alter_column('discharged_at', existing_type=_at, nullable=True)
        batch_op.alter_column('due_on', existing_type=sa.Date(), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_receivables_due_with_discharge'), '(due_on IS NULL) = (discharged_at IS NULL)'
        )
    conn = op.get_bind()
    s = settlements
    final = (
        sa.select(s.c.discharged_at)
        .where(
            s.c.hospital_code == sa.bindparam('h'),
            s.c.visit_id == sa.bindparam('v'),
            s.c.mid_settlement.is_(False),
            _active,
        )
        .limit(1)
    )
    for rid, terms, hospital, visit in _stage_shares(conn):
        at = conn.execute(final, {'h': hospital, 'v': visit}).scalar()
        _set(conn, rid, at, None if at is None else _due(at, terms))


def downgrade() -> None:
    conn = op.get_bind()
    # every stage's share (cancelled ones too) takes its stage's end back: the old rule
    r, s = receivables, settlements
    stages = (
        sa.select(r.c.id, r.c.terms, s.c.discharged_at)
        .select_from(r.join(s, s.c.id == r.c.settlement_id))
        .where(s.c.mid_settlement.is_(True))
    )
    for rid, terms, stage_end in list(conn.execute(stages)):
        _set(conn, rid, stage_end, _due(stage_end, terms))
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_receivables_due_with_discharge'), type_='check')
        batch_op.alter_column('due_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('discharged_at', existing_type=_at, nullable=False)
