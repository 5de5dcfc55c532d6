"""The ledger's query indexes carry every column a filter reads, so a page's ids and its total
are read from an index alone; the scoreboard's index is keyed in its GROUP BY order."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import sqlalchemy as sa

from service.auth import Principal, Role
from service.violations.models import SCOREBOARD_KEYS, violations_table
from service.violations.scope import ViolationFilter, scope_conditions

# Not ix_violations_county_code: it counts a region with no other filter, nothing more.
QUERY_INDEXES = {
    "ix_violations_detected_cover",
    "ix_violations_status_county",
    "ix_violations_rule_county",
    "ix_violations_hospital_cover",
    "ix_violations_scoreboard",
}


def _index(name: str) -> sa.Index:
    return next(i for i in violations_table.indexes if i.name == name)


def _carried(index: sa.Index) -> set[str]:
    return {c.name for c in index.columns} | set(index.kwargs["postgresql_include"])


def _columns_every_filter_reads() -> set[str]:
    """Every filter set at once, but the visit: one visit's rows come from its own index."""
    every = {
        f.name: date(2026, 1, 1) if "date" in str(f.type) else "9901"
        for f in fields(ViolationFilter)
        if f.name != "visit_id"
    }
    conditions = scope_conditions(Principal(key_id=1, role=Role.ADMIN), ViolationFilter(**every))
    assert conditions is not None
    return {
        element.name
        for condition in conditions
        for element in sa.sql.visitors.iterate(condition)
        if isinstance(element, sa.Column)
    }


def test_every_query_index_carries_every_filtered_column() -> None:
    read = _columns_every_filter_reads()
    assert {"county_code", "hospital_code", "rule_code", "status", "severity"} < read
    for name in QUERY_INDEXES:
        assert read <= _carried(_index(name)), name


def test_the_scoreboard_index_is_keyed_in_group_by_order_and_carries_the_points() -> None:
    index = _index("ix_violations_scoreboard")
    assert tuple(c.name for c in index.columns) == SCOREBOARD_KEYS
    assert "points_hundredths" in _carried(index)
