"""Settlements, their reversals, and the year's accumulators.

A settlement row is never updated or deleted: a reversal (冲销) is a new row that points at it,
at most once. The accumulators are the only rows that change; each change is the sum of the
`deltas` of the settlements and reversals that made it, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.base import (
    Field,
    SQLModel,
    UTCDateTime,
    created_at_field,
    fen_field,
    id_field,
    json_field,
)


class Settlement(SQLModel, table=True):
    __tablename__ = "settlements"
    __table_args__ = (
        # Idempotency: one record per HIS settlement message of a visit.
        sa.UniqueConstraint("hospital_code", "visit_id", "his_settlement_id"),
        # At most one settlement per position in a visit's history (see service.settle).
        sa.UniqueConstraint("hospital_code", "visit_id", "visit_seq"),
        sa.Index("ix_settlements_person_year", "person_key", "year"),
        sa.Index("ix_settlements_county_created", "county_code", "created_at", "id"),
    )

    id: int | None = id_field()
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)  # the hospital's county
    visit_id: str = Field(max_length=64)
    visit_seq: int = Field(default=1)
    admission_id: int = Field(foreign_key="admissions.id", sa_type=sa.BigInteger)
    his_settlement_id: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    person_key: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    pool: str = Field(max_length=6)  # the insured county: whose annual limits are used
    year: int
    settlement_mode: str = Field(max_length=16)  # one_stop | insurance_only
    # 中途结算: a stage of a stay settled in stages, not the last (ADR 0018).
    mid_settlement: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    admitted_at: datetime = Field(sa_type=UTCDateTime)
    discharged_at: datetime = Field(sa_type=UTCDateTime)
    total_fen: int = fen_field()
    funds_total_fen: int = fen_field()
    patient_pays_fen: int = fen_field()
    policy_region: str = Field(max_length=6)
    policy_version: str = Field(max_length=64)
    policy_hash: str = Field(max_length=64)
    deltas: dict[str, int] = json_field()
    # A stay split at a plan-year end (ADR 0018): the deltas of each earlier plan year's part,
    # {"2024": {key: fen}}; `year` and `deltas` are the discharge year's part. None: one year.
    earlier_years: dict[str, dict[str, int]] | None = json_field(nullable=True)
    result: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()


class SettlementReversal(SQLModel, table=True):
    """冲销: restores what the settlement took from every accumulator."""

    __tablename__ = "settlement_reversals"

    id: int | None = id_field()
    settlement_id: int = Field(foreign_key="settlements.id", unique=True, sa_type=sa.BigInteger)
    his_reversal_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=500)
    deltas: dict[str, int] = json_field()
    reversed_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()


class Accumulator(SQLModel, table=True):
    """One running annual total (年度累计) of one person in one insurance pool, in fen.

    Keys are the engine's (`basic_insurance.paid`, `critical_illness.eligible`, ...) plus
    `visits.settled`, which every settlement moves and so always locks.
    """

    __tablename__ = "accumulators"
    __table_args__ = (sa.CheckConstraint("value_fen >= 0", name="value_not_negative"),)

    person_key: str = Field(primary_key=True, max_length=64)
    pool: str = Field(primary_key=True, max_length=6)
    year: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=64)
    value_fen: int = fen_field()
