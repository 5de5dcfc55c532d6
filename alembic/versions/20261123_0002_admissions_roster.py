"""Admissions (deposits, events) and the roster snapshot tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:58:44.876111
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import service.base

from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roster_active',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('snapshot_id', sa.BigInteger(), nullable=False),
    sa.Column('switched_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_roster_active'))
    )
    op.create_table('roster_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('snapshot_id', sa.BigInteger(), nullable=False),
    sa.Column('person_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_masked', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('insured_county', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('deceased', sa.Boolean(), nullable=False),
    sa.Column('family_doctor_until', sa.Date(), nullable=True),
    sa.Column('chronic_card_until', sa.Date(), nullable=True),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entries'))
    )
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.create_index('ix_roster_entries_snapshot_person', ['snapshot_id', 'person_key'], unique=False)

    op.create_table('roster_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('file_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('taken_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_loaded', sa.BigInteger(), nullable=False),
    sa.Column('rows_rejected', sa.BigInteger(), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', service.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_snapshots'))
    )
    op.create_table('admission_deposits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('admission_id', sa.BigInteger(), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('taken_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refund_required', sa.Boolean(), nullable=False),
    sa.Column('violation_id', sa.BigInteger(), nullable=True),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['admission_id'], ['admissions.id'], name=op.f('fk_admission_deposits_admission_id_admissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_deposits')),
    sa.UniqueConstraint('admission_id', 'receipt_no', name=op.f('uq_admission_deposits_admission_id_receipt_no'))
    )
    op.create_table('admission_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('admission_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['admission_id'], ['admissions.id'], name=op.f('fk_admission_events_admission_id_admissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_events'))
    )
    with op.batch_alter_table('admission_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_events_admission_id'), ['admission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('admission_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_events_admission_id'))

    op.drop_table('admission_events')
    op.drop_table('admission_deposits')
    op.drop_table('roster_snapshots')
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_entries_snapshot_person')

    op.drop_table('roster_entries')
    op.drop_table('roster_active')
