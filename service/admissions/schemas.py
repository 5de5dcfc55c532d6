"""API models of admissions. Inputs forbid unknown fields; amounts are yuan with at most two
decimals, turned into fen at the edge; outputs carry both."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from service.idtext import Identifier, NoResidentId, PlainLine, Prose
from service.money import Amount
from service.schemas import REGION_CODE, Flag, InputModel

# Identifiers refuse a resident ID number inside them; prose has it masked (service/idtext.py).
VISIT_ID_PATTERN = r"^[A-Za-z0-9._:/-]+$"
VisitId = Annotated[str, Field(min_length=1, max_length=64, pattern=VISIT_ID_PATTERN), NoResidentId]


class ReferralCreate(InputModel):
    referred: Flag = False
    referral_no: Identifier | None = Field(default=None, max_length=64)
    from_hospital: Prose | None = Field(default=None, max_length=128)


class AdmissionCreate(InputModel):
    visit_id: VisitId
    id_number: str = Field(min_length=1, max_length=32, description="居民身份证号码, 18 or 15")
    name: Annotated[str, Field(min_length=1, max_length=64), PlainLine]
    admitted_at: AwareDatetime
    visit_type: Literal["inpatient", "chronic_outpatient"]
    insured_county: str = Field(
        pattern=REGION_CODE,
        description="参保地 county code as the HIS knows it. When the registry (or the roster "
        "snapshot) knows the person, its insured county decides the visit and a different value "
        "here is the warning INSURED_COUNTY_MISMATCH; this one decides only when neither does",
    )
    referral: ReferralCreate = ReferralCreate()
    deposit_intended: Amount = Decimal("0")


class DepositCreate(InputModel):
    receipt_no: Identifier = Field(min_length=1, max_length=64, pattern=VISIT_ID_PATTERN)
    amount: Amount
    taken_at: AwareDatetime


class AdmissionReversalCreate(InputModel):
    reason: Prose = Field(min_length=1, max_length=500)


class CategoryPublic(BaseModel):
    code: str
    name: str | None
    valid_from: date
    valid_to: date | None


class PayAfterTreatment(BaseModel):
    eligible: bool | None = Field(description="null: the status is unknown")
    reasons: list[str]


class NoticePublic(BaseModel):
    code: str
    message: str


class SourcePublic(BaseModel):
    kind: Literal["registry", "cache", "snapshot", "unknown"]
    answered_at: datetime | None
    snapshot_taken_at: datetime | None = None
    snapshot_age_seconds: int | None = None
    registry_problem: str | None = None
    unknown_reason: str | None = None


class PolicyRef(BaseModel):
    region_code: str
    version: str
    content_hash: str


class ViolationRef(BaseModel):
    id: int
    rule_code: str
    points: str


class AdmissionPublic(BaseModel):
    visit_id: str
    hospital_code: str
    county_code: str
    person_masked: str
    name_masked: str
    admitted_at: datetime
    visit_type: str
    insured_county: str = Field(
        description="The insured county the visit was decided on (the registry's when it knows "
        "the person, else the one reported); the settlement of the stay uses it too"
    )
    location: str
    referred: bool
    registered: bool | None
    covered: bool | None
    categories: list[CategoryPublic]
    pay_after_treatment: PayAfterTreatment
    deposit_intended: str
    deposit_allowed: str | None = Field(
        description="yuan the desk may take as a deposit; null: no limit. See deposit_basis."
    )
    deposit_allowed_fen: int | None
    deposit_basis: Literal["eligible", "not_eligible", "status_unknown"] | None = Field(
        default=None,
        description="why deposit_allowed is what it is. eligible: pay-after-treatment applies "
        "and the policy's deposit_when_eligible is the limit; not_eligible: null, no limit, "
        "the patient is not eligible on this visit (pay_after_treatment.reasons say why); "
        "status_unknown: neither the registry nor the snapshot can say, the policy's "
        "deposit_when_unknown is the limit (null: the policy sets none). "
        "Absent on admissions recorded before this field existed.",
    )
    deposit_explanation: str | None = Field(
        default=None, description="deposit_allowed and its basis in words, for the desk"
    )
    warnings: list[NoticePublic]
    source: SourcePublic
    policy: PolicyRef
    violations: list[ViolationRef]
    state: str
    created_at: datetime


class AdmissionDetail(AdmissionPublic):
    """The stored answer, with what happened since: deposits and reversal."""

    deposit_taken: str
    reversed_at: datetime | None
    reversal_reason: str | None


class DepositPublic(BaseModel):
    visit_id: str
    receipt_no: str
    amount: str
    amount_fen: int
    refund_required: bool
    refund: str
    refund_fen: int
    message: str
    violation: ViolationRef | None
    deposit_taken_total: str
