"""What a year-end run booked: one immutable row per person, plan year, entry and booking.

A row is never updated or deleted. The first run of a year books each person's figure; a later
run that finds a different figure (a settlement of that year reversed or added since) books the
difference as the next row (`seq` + 1), positive or negative. The sum of a person's rows for an
entry is what the entry owes them for the year. Every row keeps the inputs of the figure it
was computed from, so it can be explained (docs/year-end.md).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from service.base import Field, SQLModel, created_at_field, fen_field, id_field, json_field


class YearEndPayment(SQLModel, table=True):
    __tablename__ = "year_end_payments"
    __table_args__ = (
        # One booking per position: two runs racing for the same position book it once.
        sa.UniqueConstraint("person_key", "pool", "plan_year", "code", "seq"),
        sa.Index("ix_year_end_payments_year_pool", "plan_year", "pool", "id"),
    )

    id: int | None = id_field()
    person_key: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    pool: str = Field(max_length=6)  # the insured county, whose policy applies
    plan_year: int
    code: str = Field(max_length=64)  # the policy's year_end entry
    seq: int  # 1: the first booking; 2, 3, ...: adjustments
    name: str = Field(max_length=128)
    fund_type: str = Field(max_length=64)
    amount_fen: int = fen_field()  # what this row books (an adjustment may be negative)
    year_total_fen: int = fen_field()  # the entry's figure for the year as computed by this run
    # The inputs of the figure (service/policy/year_end.py):
    stays: int  # the settlements the entry counted
    settlement_ids: list[int] = json_field()  # every active settlement of the year considered
    cost_fen: int = fen_field()
    self_pay_fen: int = fen_field()
    deductible_fen: int = fen_field()
    patient_after_fen: int = fen_field()
    policy_region: str = Field(max_length=6)
    policy_version: str = Field(max_length=64)
    policy_hash: str = Field(max_length=64)
    run_id: str = Field(max_length=32)  # the rows one run booked share it
    booked_by: str = Field(max_length=64)  # the key (api:<prefix>) or cli:<name> that ran it
    created_at: datetime = created_at_field()
