"""console sessions: the server-side record of each signed-in console browser

The cookie carries a random token; this table keeps its SHA-256, the key it signed in with, and
when it expires or ended (logout). Every replica reads the same rows, so a logout anywhere ends
the session everywhere (ADR 0016).

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-29 10:07:19.514369
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import service.base

from alembic import op


revision: str = '0011'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('created_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', service.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', service.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_console_sessions_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_console_sessions_token_sha256'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_key_id'), ['key_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_key_id'))

    op.drop_table('console_sessions')
