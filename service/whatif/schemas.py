"""What-if request and report (amounts are yuan strings with two decimals, like settlements)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WhatIfCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_text: str = Field(
        min_length=1, max_length=512_000, description="The proposed policy (YAML document)"
    )
    over: int = Field(ge=2000, le=2100, description="The year whose settlements are re-settled")
    top: int = Field(default=10, ge=0, le=100, description="How many rising patients to list")


class FundPublic(BaseModel):
    fund_type: str
    now: str = Field(description="Paid by the stored settlements")
    proposed: str = Field(description="Would be paid under the proposal")
    difference: str = Field(description="proposed - now")


class RatioPublic(BaseModel):
    category: str = Field(description="A patient category, or * for every settlement")
    settlements: int
    buckets: list[str] = Field(description="Ratio buckets: <0.50, 0.50-0.60, ..., >=0.95")
    now: list[int]
    proposed: list[int]
    below_target_now: int = Field(description="Below the target (90% inpatient, 80% chronic)")
    below_target_proposed: int


class PatientPublic(BaseModel):
    person_masked: str
    settlements: int
    patient_now: str
    patient_proposed: str
    rise: str


class WhatIfPublic(BaseModel):
    region: str = Field(description="The proposed policy's region; its insured people's stays")
    over: int
    policy_version: str
    policy_hash: str
    settlements: int
    funds: list[FundPublic]
    funds_now: str
    funds_proposed: str
    funds_difference: str
    patient_now: str
    patient_proposed: str
    ratios: list[RatioPublic]
    patients_rising: list[PatientPublic]
    seconds: float
    note: str = Field(
        default=(
            "nothing stored changes; fee-waiver lines, designated diseases and pooling-region "
            "facts are not stored with settlements, so the proposal sees them as absent"
        )
    )
