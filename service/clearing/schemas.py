"""Clearing's API models; amounts out as two-place yuan strings (NHSA 3201/3202 names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from service.idtext import Identifier, PlainLine, mask_resident_ids
from service.money import Amount
from service.schemas import LEVEL_PREFIX, Code, InputModel

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class FundCreate(InputModel):
    code: Code
    fund_type: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="the policy layers' fund_type it pays: basic_insurance, critical_illness, ...",
    )
    region_code: str = Field(
        pattern=LEVEL_PREFIX,
        description="insured pools it pays for: a province (2 digits), prefecture (4), county (6)",
    )
    name: Annotated[str, Field(min_length=1, max_length=128), PlainLine]
    owner: Annotated[str, Field(min_length=1, max_length=128), PlainLine]


class FundPublic(BaseModel):
    code: str
    fund_type: str
    region_code: str
    name: str
    owner: str


class StatementCreate(InputModel):
    fund_code: Code
    hospital_code: Code
    period: str = Field(pattern=PERIOD, description="YYYY-MM (China time)")


class ClearingPaymentCreate(InputModel):
    amount: Amount
    paid_on: date
    reference: Identifier = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_./:-]+$")


class ClearingPaymentPublic(BaseModel):
    id: int
    statement_id: int
    amount: str
    paid_on: date
    reference: str
    recorded_by: str
    created_at: datetime


class LinePublic(BaseModel):
    kind: Literal["settlement", "reversal"]
    settlement_id: int
    reversal_id: int | None
    visit_id: str
    his_settlement_id: str
    person_masked: str
    dated_at: datetime
    period: str
    adjustment: bool = Field(description="a correction of an earlier period (调整)")
    medfee_sumamt: str
    fund_pay_sumamt: str
    fund_own_amt: str
    psn_cash_pay: str


class StatementPublic(BaseModel):
    """清算单 in the shape of NHSA 3201 (totals) and 3202 (detail lines)."""

    id: int | None = Field(description="set once closed")
    status: Literal["open", "closed", "superseded"]
    fund_code: str
    fund_type: str
    hospital_code: str
    period: str
    medfee_sumamt: str = Field(description="医疗费总额")
    fund_pay_sumamt: str = Field(description="基金支付总额 (all funds)")
    fund_own_amt: str = Field(description="this fund's amount: what it owes the hospital")
    psn_cash_pay: str = Field(description="个人现金支付")
    setl_cnt: int = Field(description="结算笔数: settlements minus reversals")
    line_count: int
    paid: str
    outstanding: str
    content_hash: str | None
    prev_hash: str | None
    closed_by: str | None
    closed_at: datetime | None
    lines: list[LinePublic]
    payments: list[ClearingPaymentPublic] = []


# Answers kept before a detail file's visit ids were refused may hold a resident ID number in
# full (ADR 0012): whoever reads them again sees it masked, as the violations export does.
ShownVisitId = Annotated[str, AfterValidator(mask_resident_ids)]


class ReconciledLine(BaseModel):
    settlement_id: int
    visit_id: ShownVisitId
    their_visit_id: ShownVisitId | None = Field(
        default=None, description="the fund's visit id, where it differs from ours"
    )
    ours: str | None
    theirs: str | None
    difference: str | None = Field(description="theirs minus ours")


class Reconciliation(BaseModel):
    """对账结果: matched, ours only, theirs only and amount mismatches, with totals."""

    fund_code: str
    hospital_code: str
    period: str
    statement_status: str
    statement_id: int | None
    ours_total: str
    theirs_total: str
    difference: str
    balanced: bool
    matched: list[ReconciledLine]
    ours_only: list[ReconciledLine]
    theirs_only: list[ReconciledLine]
    mismatched: list[ReconciledLine]


class ReconciliationPublic(Reconciliation):
    """A stored reconciliation: the answer as given, with what it was given for."""

    id: int
    statement_hash: str | None = Field(
        description="content_hash of the closed statement compared with; null for an open one"
    )
    file_sha256: str = Field(description="SHA-256 of the uploaded file")
    uploaded_by: str
    created_at: datetime
