"""violation query indexes: newest-first across regions and dates; covering county index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = ["hospital_code", "rule_code", "status", "severity", "points_hundredths"]


def upgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index("ix_violations_detected_id", ["detected_at", "id"], unique=False)
        batch_op.create_index(
            "ix_violations_county_cover",
            ["county_code", "detected_at"],
            unique=False,
            postgresql_include=COVERED,
        )


def downgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_index("ix_violations_county_cover")
        batch_op.drop_index("ix_violations_detected_id")
