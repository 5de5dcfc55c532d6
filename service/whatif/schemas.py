"""What-if request and report (amounts are yuan strings with two decimals, like settlements)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.dates import FIRST_YEAR, LAST_YEAR
from service.schemas import InputModel, Whole


class WhatIfCreate(InputModel):
    source_text: str = Field(
        min_length=1, max_length=512_000, description="The proposed policy (YAML document)"
    )
    over: Whole = Field(
        ge=FIRST_YEAR, le=LAST_YEAR, description="The year whose settlements are re-settled"
    )
    top: Whole = Field(default=10, ge=0, le=100, description="How many rising patients to list")


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


class YearEndPublic(BaseModel):
    fund_type: str
    code: str = Field(description="The year_end entry's code")
    name: str
    persons_now: int = Field(description="People it would pay something now")
    persons_proposed: int
    now: str = Field(
        description="What the year-end run of the year computes under the versions in force"
    )
    proposed: str = Field(description="What the proposal's entry would pay")
    difference: str = Field(description="proposed - now")


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
    year_end: list[YearEndPublic] = Field(
        default_factory=list,
        description="The year-end top-up (二次救助) over each person's year, by entry; "
        "included in funds, funds_now/proposed, patient_now/proposed and patients_rising",
    )
    year_end_booked: dict[str, str] = Field(
        default_factory=dict,
        description="By fund, what year-end runs have booked for the year so far (for "
        "reference: the comparison computes both sides afresh)",
    )
    seconds: float
    note: str = Field(
        default=(
            "nothing stored changes; the year-end top-up is computed afresh on both sides; "
            "a stay split at a plan-year end is re-cut by bed days and reported whole in its "
            "discharge year"
        )
    )
