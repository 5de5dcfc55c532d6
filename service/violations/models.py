"""The violation ledger (问题台账): findings and their status transitions, hash-chained per county.

Rows are never updated except `status`/`status_changed_at` on a violation, a projection of its
latest transition kept for fast filtering; the chain covers the immutable fields only, and the
transitions (which are chained) are the record of every status change.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from service.base import Field, SQLModel, UTCDateTime, id_field, json_field, table_of, utcnow

GENESIS_HASH = "0" * 64


class ViolationStatus(StrEnum):
    OPEN = "open"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    VERIFIED = "verified"  # closed: 销号


class LedgerHead(SQLModel, table=True):
    """The newest entry of one county's chain; locked while an entry is appended."""

    __tablename__ = "ledger_heads"

    chain: str = Field(primary_key=True, max_length=16)
    seq: int = Field(default=0, sa_type=sa.BigInteger)
    head_hash: str = Field(default=GENESIS_HASH, max_length=64)


# The columns a ledger query filters on. Every query index carries all of them (as keys or as
# PostgreSQL INCLUDE columns), so whichever index narrows a filter best answers a page's ids and
# its total from the index alone: the table is read only for the rows a page shows.
FILTERED = ("county_code", "hospital_code", "rule_code", "status", "severity", "event_on")
# The scoreboard's GROUP BY, in this order: its index hands rows over already grouped.
SCOREBOARD_KEYS = ("county_code", "hospital_code", "rule_code", "status")


def ledger_index(name: str, *keys: str, carrying: tuple[str, ...] = ()) -> sa.Index:
    """A B-tree on `keys` that also carries every filtered column, and `carrying`."""
    included = [c for c in (*FILTERED, *carrying) if c not in keys]
    return sa.Index(name, *keys, postgresql_include=included)


class Violation(SQLModel, table=True):
    __tablename__ = "violations"
    __table_args__ = (
        sa.UniqueConstraint("chain", "chain_seq"),
        # 0005: pages are ordered by (detected_at, id); each index narrows one way in.
        ledger_index("ix_violations_detected_cover", "detected_at", "id"),
        ledger_index("ix_violations_status_county", "status", "county_code", "detected_at", "id"),
        ledger_index("ix_violations_rule_county", "rule_code", "county_code", "detected_at", "id"),
        ledger_index("ix_violations_hospital_cover", "hospital_code", "detected_at", "id"),
        # 0014: periods are by the event's date (ADR 0018).
        ledger_index("ix_violations_event_on", "event_on", "id"),
        ledger_index(
            "ix_violations_scoreboard",
            *SCOREBOARD_KEYS,
            carrying=("detected_at", "points_hundredths"),
        ),
    )

    id: int | None = id_field()
    chain: str = Field(max_length=16)
    chain_seq: int = Field(sa_type=sa.BigInteger)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
    rule_code: str = Field(max_length=40)
    severity: str = Field(default="medium", max_length=16)
    hospital_code: str = Field(max_length=32)
    # Also alone: B-tree deduplication packs a county's rows into a few pages, so counting a
    # region with no other filter (an auditor's landing page) reads a handful of them.
    county_code: str = Field(max_length=6, index=True)
    visit_id: str | None = Field(default=None, max_length=64, index=True)
    person_key: str | None = Field(default=None, max_length=64, index=True)
    person_masked: str | None = Field(default=None, max_length=32)
    source: str = Field(max_length=32)  # admission | deposit | settlement | registry
    source_ref: str | None = Field(default=None, max_length=64)
    evidence: dict[str, Any] = json_field()
    points_hundredths: int = Field(default=0)
    policy_hash: str | None = Field(default=None, max_length=64)
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The China date of what the finding is about (the deposit, admission or discharge); periods,
    # the scoreboard and indicators count by it. Not in the chain's content (ADR 0018): rows
    # booked before it existed took their booked date; a new row also states it in `evidence`.
    event_on: date
    status: str = Field(default=ViolationStatus.OPEN.value, max_length=16)
    status_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ViolationTransition(SQLModel, table=True):
    __tablename__ = "violation_transitions"
    __table_args__ = (sa.UniqueConstraint("chain", "chain_seq"),)

    id: int | None = id_field()
    chain: str = Field(max_length=16)
    chain_seq: int = Field(sa_type=sa.BigInteger)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
    violation_id: int = Field(foreign_key="violations.id", index=True, sa_type=sa.BigInteger)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    note: str = Field(default="", max_length=2000)
    evidence_ref: str | None = Field(default=None, max_length=256)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The Core tables, for queries that read columns rather than objects (verify, scoreboard).
violations_table: sa.Table = table_of(Violation)
transitions_table: sa.Table = table_of(ViolationTransition)
