"""Settlements, their reversals, and the annual accumulators (CHECK value_fen >= 0).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:00:38.801076
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import service.base

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accumulators',
    sa.Column('person_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('pool', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('value_fen >= 0', name=op.f('ck_accumulators_value_not_negative')),
    sa.PrimaryKeyConstraint('person_key', 'pool', 'year', 'key', name=op.f('pk_accumulators'))
    )
    op.create_table('settlements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hospital_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('visit_seq', sa.Integer(), nullable=False),
    sa.Column('admission_id', sa.BigInteger(), nullable=False),
    sa.Column('his_settlement_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_masked', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('pool', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('settlement_mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('admitted_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('discharged_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('funds_total_fen', sa.BigInteger(), nullable=False),
    sa.Column('patient_pays_fen', sa.BigInteger(), nullable=False),
    sa.Column('policy_region', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('policy_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('policy_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('deltas', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['admission_id'], ['admissions.id'], name=op.f('fk_settlements_admission_id_admissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements')),
    sa.UniqueConstraint('hospital_code', 'visit_id', 'his_settlement_id', name=op.f('uq_settlements_hospital_code_visit_id_his_settlement_id')),
    sa.UniqueConstraint('hospital_code', 'visit_id', 'visit_seq', name=op.f('uq_settlements_hospital_code_visit_id_visit_seq'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index('ix_settlements_county_created', ['county_code', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_settlements_person_year', ['person_key', 'year'], unique=False)

    op.create_table('settlement_reversals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('settlement_id', sa.BigInteger(), nullable=False),
    sa.Column('his_reversal_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('deltas', sa.JSON(), nullable=False),
    sa.Column('reversed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_settlement_reversals_settlement_id_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_reversals')),
    sa.UniqueConstraint('settlement_id', name=op.f('uq_settlement_reversals_settlement_id'))
    )


def downgrade() -> None:
    op.drop_table('settlement_reversals')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_settlements_person_year')
        batch_op.drop_index('ix_settlements_county_created')

    op.drop_table('settlements')
    op.drop_table('accumulators')
