"""The violation ledger (问题台账): findings and their status transitions, hash-chained per county.

Rows are never updated except `status`/`status_changed_at` on a violation, a projection of its
latest transition kept for fast filtering; the chain covers the immutable fields only, and the
transitions (which are chained) are the record of every status change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from service.base import Field, SQLModel, UTCDateTime, id_field, json_field, utcnow

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


class Violation(SQLModel, table=True):
    __tablename__ = "violations"
    __table_args__ = (
        sa.UniqueConstraint("chain", "chain_seq"),
        sa.Index("ix_violations_county_detected", "county_code", "detected_at", "id"),
        sa.Index("ix_violations_hospital_detected", "hospital_code", "detected_at", "id"),
        sa.Index("ix_violations_status_detected", "status", "detected_at", "id"),
        # 0004: newest-first pages across a whole province or a date range, and a covering
        # index so counts and the scoreboard read the index only (PostgreSQL INCLUDE).
        sa.Index("ix_violations_detected_id", "detected_at", "id"),
        sa.Index(
            "ix_violations_county_cover",
            "county_code",
            "detected_at",
            postgresql_include=[
                "hospital_code",
                "rule_code",
                "status",
                "severity",
                "points_hundredths",
            ],
        ),
    )

    id: int | None = id_field()
    chain: str = Field(max_length=16)
    chain_seq: int = Field(sa_type=sa.BigInteger)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
    rule_code: str = Field(max_length=40, index=True)
    severity: str = Field(default="medium", max_length=16)
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)
    visit_id: str | None = Field(default=None, max_length=64, index=True)
    person_key: str | None = Field(default=None, max_length=64, index=True)
    person_masked: str | None = Field(default=None, max_length=32)
    source: str = Field(max_length=32)  # admission | deposit | settlement | registry
    source_ref: str | None = Field(default=None, max_length=64)
    evidence: dict[str, Any] = json_field()
    points_hundredths: int = Field(default=0)
    policy_hash: str | None = Field(default=None, max_length=64)
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
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
violations_table: sa.Table = Violation.__table__  # type: ignore[attr-defined]
transitions_table: sa.Table = ViolationTransition.__table__  # type: ignore[attr-defined]
