"""Year-end run request and answers (amounts are yuan strings with two decimals)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from service.base import MAX_ROW_ID
from service.schemas import REGION_CODE, Flag, InputModel, PlainDigits, Whole


class YearEndRunCreate(InputModel):
    region_code: str = Field(
        pattern=REGION_CODE, description="A county, prefecture or province code (行政区划代码)"
    )
    plan_year: Whole = Field(
        ge=1,
        le=9998,
        description="The plan year, named by the calendar year it starts in (2000-2098; "
        "it must have ended)",
    )
    dry_run: Flag = Field(default=False, description="Compute and answer; store nothing")


class YearEndPaymentsQuery(InputModel):
    """Which booked rows to read: the console's form (the API takes them as query parameters)."""

    region_code: str = Field(pattern=REGION_CODE)
    plan_year: Annotated[int, PlainDigits] = Field(ge=1, le=9998)
    after: Annotated[int, PlainDigits] = Field(
        default=0, ge=0, le=MAX_ROW_ID, description="the last id seen"
    )


class YearEndEntryPublic(BaseModel):
    code: str
    name: str
    fund_type: str
    stays: int = Field(description="The settlements the entry counted")
    cost: str = Field(description="The year's cost in the entry's scope")
    self_pay: str = Field(description="The patient's share the entry saw")
    deductible: str = Field(description="The larger of the deductible and the share cap")
    year_total: str = Field(description="What the entry owes for the year, computed now")
    booked_before: str = Field(description="What earlier runs booked")
    booked_now: str = Field(description="What this run books: year_total - booked_before")
    patient_after: str


class YearEndPersonPublic(BaseModel):
    person_masked: str
    pool: str = Field(description="The insured county")
    policy_version: str
    policy_hash: str
    settlements: int = Field(description="The person's active settlements of the year")
    entries: list[YearEndEntryPublic]


class YearEndFundPublic(BaseModel):
    fund_type: str = Field(description="The fund that pays the top-up (usually medical_aid)")
    year_total: str
    booked_before: str
    booked_now: str


class YearEndRunPublic(BaseModel):
    run_id: str
    region_code: str
    plan_year: int
    dry_run: bool
    persons_considered: int = Field(description="People with active settlements in the year")
    persons: list[YearEndPersonPublic] = Field(
        description="Those with something owed or booked (a zero figure never booked is left out)"
    )
    funds: list[YearEndFundPublic]
    rows_booked: int
    booked_now: str


class YearEndPaymentPublic(BaseModel):
    id: int
    person_masked: str
    pool: str
    plan_year: int
    code: str
    name: str
    fund_type: str
    seq: int = Field(description="1: the first booking; 2, 3, ...: adjustments")
    amount: str = Field(description="What this row books (an adjustment may be negative)")
    year_total: str = Field(description="The year's figure when this row was booked")
    stays: int
    settlement_ids: list[int]
    cost: str
    self_pay: str
    deductible: str
    patient_after: str
    policy_version: str
    policy_hash: str
    run_id: str
    booked_by: str
    created_at: datetime


class YearEndFundTotalPublic(BaseModel):
    fund_type: str
    total: str


class YearEndLedger(BaseModel):
    region_code: str
    plan_year: int
    payments: list[YearEndPaymentPublic] = Field(description="In booking order, a page")
    next_after: int | None = Field(description="Pass as `after` for the next page; null: last")
    funds: list[YearEndFundTotalPublic] = Field(description="Every booked row of the scope")
