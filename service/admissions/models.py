"""An admitted visit (入院登记) as the HIS reported it, with the eligibility answer we gave."""

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


class Admission(SQLModel, table=True):
    __tablename__ = "admissions"
    __table_args__ = (sa.UniqueConstraint("hospital_code", "visit_id"),)

    id: int | None = id_field()
    hospital_code: str = Field(max_length=32, index=True)
    county_code: str = Field(max_length=6)  # the hospital's county
    visit_id: str = Field(max_length=64)
    person_key: str = Field(max_length=64, index=True)
    person_masked: str = Field(max_length=32)
    name_masked: str = Field(default="", max_length=32)
    insured_county: str = Field(max_length=6)
    visit_type: str = Field(max_length=24)  # inpatient | chronic_outpatient
    admitted_at: datetime = Field(sa_type=UTCDateTime)
    location: str = Field(max_length=16)  # in_county | out_of_county | out_of_province
    referred: bool = False
    referral_no: str | None = Field(default=None, max_length=64)
    categories: list[str] = json_field()
    eligible: bool | None = None  # None: unknown (registry and snapshot could not answer)
    eligibility: dict[str, Any] = json_field()
    deposit_intended_fen: int = fen_field()
    deposit_allowed_fen: int | None = fen_field(default=None, nullable=True)
    deposit_taken_fen: int = fen_field()
    status_source: str = Field(max_length=16)  # registry | cache | snapshot | unknown
    policy_hash: str | None = Field(default=None, max_length=64)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] = json_field()
    state: str = Field(default="admitted", max_length=16)  # admitted | reversed
    created_at: datetime = created_at_field()
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    reversal_reason: str | None = Field(default=None, max_length=500)


class AdmissionDeposit(SQLModel, table=True):
    """A deposit the HIS reports as taken (押金), once per receipt number."""

    __tablename__ = "admission_deposits"
    __table_args__ = (sa.UniqueConstraint("admission_id", "receipt_no"),)

    id: int | None = id_field()
    admission_id: int = Field(foreign_key="admissions.id", sa_type=sa.BigInteger)
    receipt_no: str = Field(max_length=64)
    amount_fen: int = fen_field()
    taken_at: datetime = Field(sa_type=UTCDateTime)
    refund_required: bool = False
    violation_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()


class AdmissionEvent(SQLModel, table=True):
    """The admission's history: admitted, deposit reported, reversed. Append-only."""

    __tablename__ = "admission_events"

    id: int | None = id_field()
    admission_id: int = Field(foreign_key="admissions.id", index=True, sa_type=sa.BigInteger)
    kind: str = Field(max_length=24)  # admitted | deposit_reported | reversed
    actor: str = Field(max_length=64)
    detail: dict[str, Any] = json_field()
    at: datetime = created_at_field()
