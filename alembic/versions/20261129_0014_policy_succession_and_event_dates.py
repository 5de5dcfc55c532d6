"""policy succession and event dates: the version history of each region (ADR 0018)

Succession closes a region's open version the day before its successor starts and withdrawal
removes a version not yet in effect; each step is a row of policy_version_events (who, when,
why). The closed end lives in policy_versions.effective_to; the text, and its hash, never change.

violations.event_on is the China date of the deposit, admission or discharge a finding is about;
periods count by it. Rows booked before it existed take their booked date (detected_at in China
time). It is not part of the chain's content, so no entry hash changes.

settlements.earlier_years keeps, for a stay split at a plan-year end (cross_year: split), the
accumulator deltas of each earlier plan year's part, so a reversal gives them back.
settlements.mid_settlement marks a stage of a stay settled in stages (中途结算, NHSA mid_setl_flag).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 13:04:47.455304
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import service.base

from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The ledger's query indexes (0005) now also carry event_on, which period filters read:
# name: (keys, INCLUDE before 0014). PostgreSQL only; SQLite has no INCLUDE.
CARRYING: dict[str, tuple[list[str], list[str]]] = {
    "ix_violations_detected_cover": (
        ["detected_at", "id"],
        ["county_code", "hospital_code", "rule_code", "status", "severity"],
    ),
    "ix_violations_status_county": (
        ["status", "county_code", "detected_at", "id"],
        ["hospital_code", "rule_code", "severity"],
    ),
    "ix_violations_rule_county": (
        ["rule_code", "county_code", "detected_at", "id"],
        ["hospital_code", "status", "severity"],
    ),
    "ix_violations_hospital_cover": (
        ["hospital_code", "detected_at", "id"],
        ["county_code", "rule_code", "status", "severity"],
    ),
    "ix_violations_scoreboard": (
        ["county_code", "hospital_code", "rule_code", "status"],
        ["severity", "detected_at", "points_hundredths"],
    ),
}


def _carry(with_event_on: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (keys, included) in CARRYING.items():
        if with_event_on:
            at = included.index("detected_at") if "detected_at" in included else len(included)
            included = [*included[:at], "event_on", *included[at:]]
        op.drop_index(name, table_name="violations")
        op.create_index(name, "violations", keys, unique=False, postgresql_include=included)


def upgrade() -> None:
    op.create_table('policy_version_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_version_events'))
    )
    with op.batch_alter_table('policy_version_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_version_events_region_code'), ['region_code'], unique=False)

    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_on', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE violations SET event_on = (detected_at AT TIME ZONE 'Asia/Shanghai')::date")
    else:
        op.execute("UPDATE violations SET event_on = date(datetime(detected_at, '+8 hours'))")
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.alter_column('event_on', existing_type=sa.Date(), nullable=False)
        batch_op.create_index('ix_violations_event_on', ['event_on', 'id'], unique=False, postgresql_include=['county_code', 'hospital_code', 'rule_code', 'status', 'severity'])
    _carry(with_event_on=True)

    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earlier_years', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('mid_settlement', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_column('mid_settlement')
        batch_op.drop_column('earlier_years')
    _carry(with_event_on=False)
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_event_on', postgresql_include=['county_code', 'hospital_code', 'rule_code', 'status', 'severity'])
        batch_op.drop_column('event_on')

    with op.batch_alter_table('policy_version_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_version_events_region_code'))

    op.drop_table('policy_version_events')
