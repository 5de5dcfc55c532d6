"""keys issued once per console form: api_keys.issue_form, the form's one-time token, unique

The console's key form carries a one-time token; the key it issues keeps it, so the same form
posted twice (a double click) meets the unique constraint and issues no second key. Keys issued
by the API or the CLI have none.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 13:43:03
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issue_form", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_api_keys_issue_form"), ["issue_form"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_api_keys_issue_form"), type_="unique")
        batch_op.drop_column("issue_form")
