"""The API's settlement models: requests forbid unknown fields (a body cannot set an id, a
status, a computed amount or a hospital code); responses carry amounts as two-place strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from service.idtext import Identifier, Prose
from service.money import Amount
from service.policy.schema import Code, FeeItem
from service.schemas import Flag, InputModel

SettlementMode = Literal["one_stop", "insurance_only"]


class OutOfPolicyBreakdownCreate(InputModel):
    """政策范围外费用 by kind; the parts add up to `out_of_policy`."""

    full_self_pay: Amount = Field(default=Decimal(0), description="全自费 (fulamt_ownpay_amt)")
    over_limit_self_pay: Amount = Field(
        default=Decimal(0), description="超限价自费 (overlmt_selfpay)"
    )
    pre_self_pay: Amount = Field(default=Decimal(0), description="先行自付 (preselfpay_amt)")


class BillLineCreate(InputModel):
    item: FeeItem
    amount: Amount
    in_policy: Flag
    category: Code | None = Field(
        default=None,
        description="A bill category with rules of its own (靶向药 `targeted_drug`, 基本药物 "
        "`essential_drug`, ...): one of the policy's `bill_categories`; absent: an ordinary line",
        examples=["targeted_drug"],
    )


class DatedAmountCreate(InputModel):
    on: date = Field(description="The day of care (China time) these costs were incurred")
    in_policy: Amount
    out_of_policy: Amount


class BillCreate(InputModel):
    total: Amount = Field(description="总费用 (medfee_sumamt)")
    in_policy: Amount = Field(description="政策范围内费用")
    out_of_policy: Amount = Field(description="政策范围外费用")
    out_of_policy_breakdown: OutOfPolicyBreakdownCreate | None = None
    lines: list[BillLineCreate] = Field(default=[], max_length=200)
    by_date: list[DatedAmountCreate] = Field(
        default=[],
        max_length=400,
        description="The bill's amounts by day of care, adding up to in_policy and "
        "out_of_policy; a stay across a plan-year end under `cross_year: split` is cut by them "
        "(without them, by a share of the stay's bed days)",
    )


class SettlementPreviewCreate(InputModel):
    visit_id: Identifier = Field(min_length=1, max_length=64)
    discharged_at: AwareDatetime
    bill: BillCreate
    settlement_mode: SettlementMode = "one_stop"
    disease: Code | None = Field(
        default=None,
        max_length=64,
        description="The designated disease or package (大病专项救治病种, 单病种) the stay is "
        "settled under: one of the policy's `diseases`; absent: none",
        examples=["childhood_leukemia"],
    )
    mid_settlement: Flag = Field(
        default=False,
        description="中途结算 (NHSA mid_setl_flag 1): settle the stay so far and keep it open; "
        "`discharged_at` is then the end of the stage. Later stages continue its thresholds and "
        "caps; the final settlement (false) is at discharge",
    )
    external_amounts: dict[str, Amount] = Field(
        default={},
        max_length=20,
        description="Amounts of layers settled elsewhere (the policy's `external` layers), "
        "by layer code, e.g. {'basic_insurance': '68828.00'}",
    )


class SettlementCreate(SettlementPreviewCreate):
    his_settlement_id: Identifier = Field(
        min_length=1, max_length=64, description="The HIS settlement message id (idempotency)"
    )


class ReversalCreate(InputModel):
    reason: Prose = Field(min_length=1, max_length=500)
    his_reversal_id: Identifier | None = Field(default=None, min_length=1, max_length=64)


class LayerPublic(BaseModel):
    code: str
    fund_type: str
    name: str
    applied: bool
    base: str
    deductible_used: str = Field(description="起付线/门槛 taken by this bill")
    ratio: str
    amount: str
    cap_left: str | None = Field(description="年度限额余额 after this bill; null: no cap")


class TotalsPublic(BaseModel):
    total: str
    waived: str
    fund_total: str
    patient_pays: str
    patient_pays_in_capitals: str = Field(description="大写金额")
    patient_in_policy: str
    patient_out_of_policy: str
    actual_ratio: str = Field(description="实际报销比例")
    out_of_policy_share: str = Field(description="目录外费用占比")


class FindingPublic(BaseModel):
    rule: str
    violated: bool
    measured: str
    limit: str
    points: str
    detail: str


class TracePublic(BaseModel):
    step: str
    zh: str
    en: str


class PolicyRef(BaseModel):
    region_code: str
    name: str
    version: str
    content_hash: str


class ReversalPublic(BaseModel):
    id: int
    his_reversal_id: str | None
    reason: str
    reversed_by: str
    created_at: datetime


class YearPartPublic(BaseModel):
    """The part of a stay across a plan-year end settled in one plan year (cross_year: split)."""

    year: int
    first_day: date
    last_day: date
    days: int
    total: str
    funds: str
    patient_pays: str
    in_policy: str | None = Field(
        None,
        description="The part's in-catalogue cost (null on settlements stored before parts "
        "named it)",
    )
    patient_in_policy: str | None = Field(
        None,
        description="The patient's in-catalogue share of the part (null on settlements stored "
        "before parts named it)",
    )
    policy_version: str | None = Field(
        None,
        description="The version the part was settled under: its own plan year's (null on "
        "settlements stored before parts named it)",
    )


class SettlementPublic(BaseModel):
    """One settlement (or a preview: no id). The `*_amt`/`*_pay` fields are the national
    medical-insurance settlement names HIS vendors already map (医保结算清单字段)."""

    id: int | None
    status: Literal["preview", "settled", "reversed"]
    hospital_code: str
    visit_id: str
    his_settlement_id: str | None
    settlement_mode: SettlementMode
    person_masked: str
    insured_county: str
    admitted_at: datetime
    discharged_at: datetime
    year: int = Field(description="The plan year whose accumulators it moved (the discharge's)")
    mid_setl_flag: Literal["0", "1"] = Field(
        default="0", description="1: a stage of a stay settled in stages (中途结算), not the last"
    )
    stage: int = Field(default=1, description="The stage of the stay (1 unless settled in stages)")
    disease: str | None = Field(
        default=None, description="The designated disease or package it was settled under"
    )
    in_pooling_region: bool | None = Field(
        default=None,
        description="Was the hospital inside the patient's pooling region (统筹区, by the "
        "policy's `pooling` level)? null: settled before the service knew",
    )
    year_parts: list[YearPartPublic] = Field(
        default=[],
        description="A stay split at a plan-year end: each year's part (empty: one year)",
    )
    layers: list[LayerPublic]
    totals: TotalsPublic
    medfee_sumamt: str = Field(description="总费用")
    fund_pay_sumamt: str = Field(description="基金支付总额: every fund and the waivers")
    hifp_pay: str = Field(description="基本医疗保险统筹基金支出")
    hifmi_pay: str = Field(description="居民大病保险资金支出")
    maf_pay: str = Field(description="医疗救助基金支出")
    hifes_pay: str = Field(
        description="补充医疗保险基金支出: supplementary cover (fund type `supplementary`)"
    )
    hosp_part_amt: str = Field(description="医院负担金额: the hospital's fee waivers (减免)")
    oth_pay: str = Field(description="其他支出: the safety net (兜底) and any other fund type")
    psn_part_amt: str = Field(description="个人负担总金额")
    acct_pay: str = Field(description="个人账户支出: always 0.00, no personal account is settled")
    psn_cash_pay: str = Field(description="个人现金支出: the whole personal share")
    fulamt_ownpay_amt: str = Field(description="全自费金额")
    overlmt_selfpay: str = Field(description="超限价自费费用")
    preselfpay_amt: str = Field(description="先行自付金额")
    inscp_scp_amt: str = Field(description="符合政策范围金额")
    findings: list[FindingPublic]
    violation_findings: list[str] = Field(
        default_factory=list,
        description="rule codes of the findings this settlement books in the ledger (a preview: "
        "would book)",
    )
    violations_booked: list[str] | None = Field(
        description="rule codes booked in the ledger with this settlement; null in a preview, "
        "which books nothing (see violation_findings)"
    )
    policy: PolicyRef
    trace: list[TracePublic]
    reversal: ReversalPublic | None = None
    created_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _findings_of_older_rows(cls, data: Any) -> Any:
        # Settlements stored before violation_findings existed booked exactly what they found.
        if isinstance(data, dict) and "violation_findings" not in data:
            return {**data, "violation_findings": data.get("violations_booked") or []}
        return data
