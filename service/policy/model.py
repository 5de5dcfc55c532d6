"""Value objects the engine takes and returns.

Inputs are frozen dataclasses validated on construction; outputs are NamedTuples
(immutable, cheap to build on the hot path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from service.policy.schema import FEE_ITEMS, HOSPITAL_LEVELS, HOSPITAL_TIERS, LOCATIONS, VISIT_TYPES

__all__ = [
    "Accumulators",
    "Bill",
    "BillLine",
    "Eligibility",
    "Finding",
    "LayerResult",
    "PriorAdmissions",
    "SettlementResult",
    "TraceLine",
    "Visit",
]

_EMPTY: Mapping[str, int] = MappingProxyType({})

Accumulators = Mapping[str, int]
"""The year's running totals, keyed ``<layer code or pool>.<what>`` (see docs/policy.md)."""


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


@dataclass(frozen=True, slots=True)
class Visit:
    """One admission (住院) or chronic outpatient episode (门诊慢特病)."""

    visit_type: str
    hospital_level: str
    hospital_tier: str
    location: str
    referred: bool
    designated: bool
    admitted_on: date
    discharged_on: date
    in_pooling_region: bool | None = None
    """Is the hospital inside the patient's pooling region (统筹区, usually the prefecture)?
    ``None`` (the default, for callers that do not know): an ``in_county`` visit is inside,
    any other visit is not."""
    disease: str | None = None
    """The designated disease or package (病种) the visit is settled under, if any."""

    def __post_init__(self) -> None:
        _one_of("visit_type", self.visit_type, VISIT_TYPES)
        _one_of("hospital_level", self.hospital_level, HOSPITAL_LEVELS)
        _one_of("hospital_tier", self.hospital_tier, HOSPITAL_TIERS)
        _one_of("location", self.location, LOCATIONS)
        if self.discharged_on < self.admitted_on:
            raise ValueError("discharged_on is before admitted_on")
        if self.location == "out_of_province" and self.in_pooling_region:
            raise ValueError("an out_of_province visit cannot be in the pooling region")
        if self.location == "in_county" and self.in_pooling_region is False:
            raise ValueError("an in_county visit is always in the pooling region")

    @property
    def pooling_location(self) -> str:
        """``in_pooling_region``, ``elsewhere_in_province`` or ``out_of_province``."""
        if self.location == "out_of_province":
            return "out_of_province"
        if self.location == "in_county" or self.in_pooling_region:
            return "in_pooling_region"
        return "elsewhere_in_province"


@dataclass(frozen=True, slots=True)
class PriorAdmissions:
    """What the caller knows of the patient's earlier admissions in the same plan year (not
    counting this one; reversed ones excluded). The deductible modes read it: ``per_hospital_year``
    (``at_hospital_this_year``), ``per_quarter`` (``this_quarter``) and ``later_admissions``
    (``this_year``). The default, no earlier admission, keeps every older caller's result."""

    this_year: int = 0
    at_hospital_this_year: int = 0
    this_quarter: int = 0
    paid_this_month: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    """What layers with a ``monthly_cap`` already paid this month, by ``<key>.paid``."""

    def __post_init__(self) -> None:
        if min(self.this_year, self.at_hospital_this_year, self.this_quarter) < 0:
            raise ValueError("admission counts cannot be negative")
        if max(self.at_hospital_this_year, self.this_quarter) > self.this_year:
            raise ValueError("admissions at a hospital or in a quarter are also in the year")


NO_PRIOR = PriorAdmissions()


@dataclass(frozen=True, slots=True)
class BillLine:
    """One fee class of the bill (挂号费, 诊查费, 床位费, ...)."""

    item: str
    amount_fen: int
    in_policy: bool
    category: str | None = None
    """A bill category with rules of its own (``targeted_drug``, ...); None: ordinary."""

    def __post_init__(self) -> None:
        _one_of("item", self.item, FEE_ITEMS)
        if self.amount_fen < 0:
            raise ValueError("a bill line cannot be negative")


@dataclass(frozen=True, slots=True)
class Bill:
    """The bill: total = in-policy (政策范围内) + out-of-policy (政策范围外), in fen."""

    total_fen: int
    in_policy_fen: int
    out_of_policy_fen: int
    lines: tuple[BillLine, ...] = ()

    def __post_init__(self) -> None:
        if min(self.total_fen, self.in_policy_fen, self.out_of_policy_fen) < 0:
            raise ValueError("bill amounts cannot be negative")
        if self.in_policy_fen + self.out_of_policy_fen != self.total_fen:
            raise ValueError(
                f"total_fen {self.total_fen} != in_policy_fen {self.in_policy_fen} "
                f"+ out_of_policy_fen {self.out_of_policy_fen}"
            )
        if self.lines:
            if sum(line.amount_fen for line in self.lines) != self.total_fen:
                raise ValueError("bill lines do not add up to total_fen")
            in_policy = sum(line.amount_fen for line in self.lines if line.in_policy)
            if in_policy != self.in_policy_fen:
                raise ValueError("in-policy bill lines do not add up to in_policy_fen")


class LayerResult(NamedTuple):
    """What one payer layer did for this bill."""

    code: str
    fund_type: str
    name: str
    applied: bool
    base_fen: int
    deductible_fen: int
    ratio: str
    amount_fen: int
    cap_left_fen: int | None


class Finding(NamedTuple):
    """The outcome of one control; ``violated`` findings cost ``points``."""

    rule: str
    violated: bool
    measured: str
    limit: str
    points: Decimal
    detail: str


class TraceLine(NamedTuple):
    """One readable step of the computation, in Chinese and English."""

    step: str
    zh: str
    en: str


class SettlementResult(NamedTuple):
    """The one-stop settlement of one bill.

    ``waived_fen + funds_total_fen + patient_pays_fen == total_fen`` and the layer amounts
    add up to ``waived_fen + funds_total_fen``. ``waived_fen`` is everything the hospital bears
    (医院负担, ``hosp_part_amt``): fee waivers before insurance and ``hospital_share`` layers.
    ``actual_ratio`` is funds over the bill after what the hospital bears.
    """

    layers: tuple[LayerResult, ...]
    total_fen: int
    waived_fen: int
    funds_total_fen: int
    patient_pays_fen: int
    patient_in_policy_fen: int
    patient_out_of_policy_fen: int
    actual_ratio: Decimal
    out_of_policy_share: Decimal
    findings: tuple[Finding, ...]
    deltas: Mapping[str, int]
    trace: tuple[TraceLine, ...]
    policy_hash: str
    policy_version: str

    def layer(self, code: str) -> LayerResult:
        """The result of the layer with this code (KeyError if the policy has none)."""
        for layer in self.layers:
            if layer.code == code:
                return layer
        raise KeyError(code)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """先诊疗后付费 eligibility at admission."""

    eligible: bool
    reasons: tuple[str, ...]
    deposit_allowed_fen: int | None
