"""violation covering indexes: every query index carries the filtered columns; scoreboard order

Each new index carries county, hospital, rule, status and severity (keys or PostgreSQL INCLUDE),
so a page's ids and its total are read from an index only. They replace the 0001/0004 indexes
that made counts fetch table rows or scan a whole region. ix_violations_scoreboard is keyed in
the scoreboard's GROUP BY order, so the scoreboard streams one index already grouped. A bare
county_code index counts a region with no other filter from a few deduplicated pages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (key columns, PostgreSQL INCLUDE columns); mirrors service/violations/models.py.
NEW: dict[str, tuple[list[str], list[str]]] = {
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
    # Deduplicated to a few MB: counts a region with no other filter from a handful of pages.
    "ix_violations_county_code": (["county_code"], []),
}

# The indexes 0005 replaces, as 0001 and 0004 made them.
OLD: dict[str, tuple[list[str], list[str]]] = {
    "ix_violations_county_detected": (["county_code", "detected_at", "id"], []),
    "ix_violations_hospital_detected": (["hospital_code", "detected_at", "id"], []),
    "ix_violations_status_detected": (["status", "detected_at", "id"], []),
    "ix_violations_rule_code": (["rule_code"], []),
    "ix_violations_detected_id": (["detected_at", "id"], []),
    "ix_violations_county_cover": (
        ["county_code", "detected_at"],
        ["hospital_code", "rule_code", "status", "severity", "points_hundredths"],
    ),
}


def _swap(
    create: dict[str, tuple[list[str], list[str]]], drop: dict[str, tuple[list[str], list[str]]]
) -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        for name, (keys, included) in create.items():
            batch_op.create_index(name, keys, unique=False, postgresql_include=included)
        for name in drop:
            batch_op.drop_index(name)


def upgrade() -> None:
    _swap(NEW, OLD)


def downgrade() -> None:
    _swap(OLD, NEW)
