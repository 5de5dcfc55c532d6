"""The policy document's shape, validated with pydantic at load time only.

Amounts are yuan (元) as written in policy documents; ratios are decimals in [0, 1].
The compiled form (``compiled.py``) is what the engine uses.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "LAYER_KINDS",
    "Adjustment",
    "Band",
    "HigherCap",
    "LaterAdmissions",
    "YearEnd",
    "Controls",
    "Document",
    "Layer",
    "PayAfterTreatment",
    "PlanYear",
    "When",
]

LAYER_KINDS = (
    "ratio",
    "bands",
    "safety_net",
    "top_up",
    "fee_waiver",
    "hospital_share",
    "fixed_amount",
    "external",
)
VISIT_TYPES = ("inpatient", "chronic_outpatient")
HOSPITAL_LEVELS = ("primary", "secondary", "tertiary")
HOSPITAL_TIERS = ("township", "county", "city", "province")
LOCATIONS = ("in_county", "out_of_county", "out_of_province")
POOLING_LOCATIONS = ("in_pooling_region", "elsewhere_in_province", "out_of_province")
FEE_ITEMS = ("registration", "consultation", "bed", "large_equipment", "drug", "exam", "other")

VisitType = Literal["inpatient", "chronic_outpatient"]
HospitalLevel = Literal["primary", "secondary", "tertiary"]
HospitalTier = Literal["township", "county", "city", "province"]
Location = Literal["in_county", "out_of_county", "out_of_province"]
PoolingLocation = Literal["in_pooling_region", "elsewhere_in_province", "out_of_province"]
FeeItem = Literal["registration", "consultation", "bed", "large_equipment", "drug", "exam", "other"]
Base = Literal[
    "in_policy_remaining",
    "in_policy_remaining_excluding_deductibles",
    "out_of_policy_remaining",
    "total_remaining",
]


def _ratio(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"ratio {value} is outside [0, 1]")
    return value


def _money(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"amount {value} is below zero")
    if value * 100 != (value * 100).to_integral_value():
        raise ValueError(f"amount {value} has more than two decimals (yuan to the fen)")
    return value


def _delta(value: Decimal) -> Decimal:
    if not Decimal(-1) <= value <= Decimal(1):
        raise ValueError(f"ratio adjustment {value} is outside [-1, 1]")
    return value


Ratio = Annotated[Decimal, AfterValidator(_ratio)]
Money = Annotated[Decimal, AfterValidator(_money)]
RatioDelta = Annotated[Decimal, AfterValidator(_delta)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Conditions on the visit and the patient; an absent condition matches anything."""

    categories: list[Code] | None = None
    visit_types: list[VisitType] | None = None
    hospital_levels: list[HospitalLevel] | None = None
    hospital_tiers: list[HospitalTier] | None = None
    locations: list[Location] | None = None
    pooling_locations: list[PoolingLocation] | None = None
    """统筹区内 / 省内统筹区外 / 省外: where the hospital is relative to the pooling region."""
    diseases: list[Code] | None = None
    """the visit's designated disease or package (病种), any of; codes from ``diseases``."""
    referred: bool | None = None
    designated: bool | None = None


class LaterAdmissions(_Strict):
    """The deductible of the second and later admissions of a plan year (再次住院起付线):
    ``factor`` times the deductible (``"0.5"`` = halved), never below ``floor`` (nor above the
    full deductible)."""

    factor: Ratio
    floor: Money = Decimal(0)


class HigherCap(_Strict):
    """A cap that depends on the case: once the year's eligible amount of a ``bands`` layer
    (``eligible_of``: its code or pool) is above ``over``, these caps replace the layer's
    (e.g. a higher medical-aid limit above the critical-illness threshold)."""

    eligible_of: Code
    over: Money
    annual_cap: Money | None = None
    per_admission_cap: Money | None = None


DeductibleMode = Literal["per_admission", "per_year", "per_hospital_year", "per_quarter"]


class Adjustment(_Strict):
    """Parameters replaced (or a ratio moved) when ``when`` matches; applied in file order."""

    when: When
    applies: bool | None = None
    ratio: Ratio | None = None
    ratio_add: RatioDelta | None = None
    out_of_policy_ratio: Ratio | None = None
    deductible: Money | None = None
    deductible_by_level: dict[HospitalLevel, Money] | None = None
    out_of_policy_deductible: Money | None = None
    threshold: Money | None = None
    threshold_factor: Ratio | None = None
    personal_cap: Money | None = None
    target_ratio: Ratio | None = None
    per_admission_cap: Money | None = None
    annual_cap: Money | None = None
    monthly_cap: Money | None = None
    amount: Money | None = None
    patient_keeps: Money | None = None


class Band(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Money = Field(alias="from")
    to: Money | None = None
    ratio: Ratio


class Layer(_Strict):
    """One payer layer. Which fields apply depends on ``kind``."""

    code: Code
    kind: str
    name: str
    fund_type: Code
    applies_to: When = When()
    base: Base = "in_policy_remaining"
    pool: Code | None = None
    # ratio / external
    deductible: Money = Decimal(0)
    deductible_by_level: dict[HospitalLevel, Money] | None = None
    deductible_accumulates: DeductibleMode = "per_admission"
    later_admissions: LaterAdmissions | None = None
    out_of_policy_deductible: Money = Decimal(0)
    ratio: Ratio | None = None
    ratio_by_level: dict[HospitalLevel, Ratio] | None = None
    out_of_policy_ratio: Ratio | None = None
    # bands
    threshold: Money | None = None
    threshold_accumulates: Literal["per_year", "per_admission"] = "per_year"
    convention: Literal["cumulative", "above_threshold"] | None = None
    bands: list[Band] | None = None
    # safety_net
    personal_cap: Money | None = None
    personal_cap_by_tier: dict[HospitalTier, Money] | None = None
    counts: Literal["in_policy", "total"] = "total"
    # top_up
    target_ratio: Ratio | None = None
    measure: Literal["total", "in_policy"] = "total"
    covers: Literal["in_policy", "total"] = "total"
    # fee_waiver
    waive: dict[FeeItem, Ratio] | None = None
    # hospital_share (医院减免): a fixed amount on the base and/or out_of_policy_ratio, or
    # everything above what the patient keeps (a package price's excess); fixed_amount: amount
    amount: Money | None = None
    patient_keeps: Money | None = None
    # lines with rules of their own (bill line categories, see ``bill_categories``)
    line_categories: list[Code] | None = None
    """this layer pays only on the in-catalogue lines of these categories"""
    excludes_line_categories: list[Code] | None = None
    """this layer leaves the in-catalogue lines of these categories to other layers"""
    # every kind
    per_admission_cap: Money | None = None
    annual_cap: Money | None = None
    monthly_cap: Money | None = None
    higher_caps: list[HigherCap] = []
    once_per_year: bool = False
    """pay only while the layer has paid nothing this year (一次性定额补助)"""
    adjustments: list[Adjustment] = []
    note: str | None = None
    remove: bool = False
    """Only in a child document: drop the parent's layer with this code."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in LAYER_KINDS:
            raise ValueError(f"unknown layer kind {value!r}; known kinds: {', '.join(LAYER_KINDS)}")
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Layer:
        need: dict[str, tuple[str, ...]] = {
            "ratio": ("ratio|ratio_by_level",),
            "bands": ("bands", "threshold", "convention"),
            "safety_net": ("personal_cap|personal_cap_by_tier",),
            "top_up": ("target_ratio",),
            "fee_waiver": ("waive",),
            "hospital_share": ("amount|out_of_policy_ratio|patient_keeps",),
            "fixed_amount": ("amount",),
            "external": (),
        }
        for spec in need[self.kind]:
            if all(getattr(self, name) is None for name in spec.split("|")):
                wanted = " or ".join(spec.split("|"))
                raise ValueError(f"a {self.kind} layer needs {wanted}")
        return self


class YearEnd(_Strict):
    """二次救助 / 年度补足: computed once over a person's settled year, not per bill. Of the
    year's remaining personal share (``counts``) of the stays ``applies_to`` matches, pays
    ``ratio`` (default 1) of what lies above ``deductible`` and above ``self_pay_share_cap``
    of the year's cost in the same scope, within ``annual_cap``."""

    code: Code
    name: str
    fund_type: Code
    applies_to: When = When()
    counts: Literal["in_policy", "total"] = "in_policy"
    deductible: Money = Decimal(0)
    ratio: Ratio | None = None
    self_pay_share_cap: Ratio | None = None
    annual_cap: Money | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ratio_or_share(self) -> YearEnd:
        if self.ratio is None and self.self_pay_share_cap is None:
            raise ValueError("a year_end entry needs ratio or self_pay_share_cap")
        return self


class PayAfterTreatment(_Strict):
    """先诊疗后付费: who may be admitted without a deposit."""

    categories: list[Code]
    visit_types: list[VisitType] = ["inpatient"]
    in_county_only: bool = True
    within: Literal["county", "pooling_region", "province", "anywhere"] | None = None
    """Where a hospital must be for the patient to be admitted without a deposit: in the insured
    county (县域内, the usual rule), in the pooling region (统筹区内, by the policy's
    ``pooling``), in the province, or anywhere. Set, it wins over ``in_county_only``, which a
    county's parent may still state; unset, ``in_county_only`` decides (true: county, false:
    anywhere), so documents written before ``within`` keep their meaning."""
    designated_only: bool = True
    referral_required_outside_county: bool = True
    deposit_when_eligible: Money = Decimal(0)
    deposit_when_unknown: Money | None = Decimal(0)
    """The most the desk may take while nobody can say whether the patient is covered (the
    registry down and the snapshot silent); null: no limit. ADR 0011."""
    snapshot_max_age_days: Annotated[int, Field(ge=0, le=3650, strict=True)] | None = None
    """The oldest a roster snapshot may be, in whole days on the visit day, to confirm cover
    while the registry cannot answer; older, the person is `unknown` (SNAPSHOT_TOO_OLD).
    Absent: no limit, and left out of the hash (ADR 0011, addendum)."""
    # The patient's share afterwards (service/receivables):
    due_days_after_discharge: Annotated[int, Field(ge=1, le=365)] = 30
    grace_days: Annotated[int, Field(ge=0, le=365)] = 30
    reminders_required: Annotated[int, Field(ge=0, le=10)] = 2
    deposit_from_defaulters: bool = False

    @property
    def scope(self) -> str:
        """county, pooling_region, province or anywhere."""
        if self.within is not None:
            return self.within
        return "county" if self.in_county_only else "anywhere"


class Controls(_Strict):
    """Checks made at admission and settlement, and the points each finding costs."""

    covered_categories: list[Code] = []
    target_ratio: dict[VisitType, Ratio] = {}
    personal_share_cap: Ratio | None = None
    out_of_policy_limit: dict[HospitalLevel, Ratio] = {}
    pay_after_treatment: PayAfterTreatment | None = None
    referral_required_outside_county: bool = False
    points: dict[str, Annotated[Decimal, Field(ge=0)]] = {}
    default_points: Annotated[Decimal, Field(ge=0)] = Decimal("0.2")


# Two ASCII digits each: int() alone read "2-3", " 1-1", "1_0-01" and "٠١-٠١" as month-days.
_MONTH_DAY = re.compile(r"[0-9]{2}-[0-9]{2}")


def _month_day(text: str) -> str:
    if not _MONTH_DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a month-day MM-DD such as 01-01 or 10-01")
    try:
        date(2001, int(text[:2]), int(text[3:]))  # no 29 February: every plan year has the day
    except ValueError as e:
        raise ValueError(f"{text!r} is not a day every year has (MM-DD, such as 01-01)") from e
    return text


class PlanYear(_Strict):
    """How the policy's year runs and which dates pick versions and years (docs/policy.md)."""

    starts: Annotated[str, AfterValidator(_month_day)] = "01-01"
    version_date: Literal["admission", "discharge", "settlement"] = "discharge"
    cross_year: Literal["discharge_year", "split"] = "discharge_year"


class Document(_Strict):
    """A whole policy (after inheritance has been applied)."""

    region: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    region_name: str | None = None
    # The bounds of the register's columns (policy_versions): a longer one is the author's
    # error, named at its path, not a row the database refuses.
    name: Annotated[str, Field(min_length=1, max_length=200)]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    effective_from: date
    effective_to: date | None = None
    inherits: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    sources: list[str] = []
    categories: dict[Code, str] = {}
    bill_categories: dict[Code, str] = {}
    """vocabulary of bill line categories with rules of their own (靶向药, 基本药物, ...)"""
    diseases: dict[Code, str] = {}
    """vocabulary of designated diseases and packages (大病专项救治病种, 单病种)"""
    layers: list[Layer] = []
    year_end: list[YearEnd] = []
    controls: Controls = Controls()
    plan_year: PlanYear | None = None  # None: calendar year, by discharge date, discharge_year
    pooling: Literal["county", "prefecture", "province"] | None = None
    """the level the insured person's pool is run at (统筹层次): a hospital inside the same
    county / prefecture / province is `in_pooling_region`; None: prefecture (市级统筹)"""
    note: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Document:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        codes = [layer.code for layer in self.layers] + [y.code for y in self.year_end]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"layer codes must be unique: {', '.join(duplicates)}")
        return self
