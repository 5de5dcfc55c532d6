"""The compiled policy: ratios as integer fractions, amounts in fen, layer plans cached
per situation so that settling does integer arithmetic only."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from service.policy.model import Finding, Visit
from service.policy.money import ratio_label, yuan_to_fen
from service.policy.schema import Document, Layer, PayAfterTreatment, When

__all__ = [
    "CompiledControls",
    "CompiledPolicy",
    "ControlCheck",
    "LayerPlan",
    "Situation",
]

_PLAN_CACHE_LIMIT = 4096


class LayerPlan(NamedTuple):
    """One layer with every parameter fixed for one situation (visit + categories)."""

    code: str
    fund_type: str
    name: str
    kind: str
    applies: bool
    base: str
    ratio_num: int
    ratio_den: int
    ratio_text: str
    out_num: int
    out_den: int  # 0: no out-of-policy cover
    deductible_fen: int
    deductible_per_year: bool
    deductible_mode: str  # per_admission | per_year | per_hospital_year | per_quarter
    later_num: int
    later_den: int  # 0: later admissions pay the full deductible
    later_floor_fen: int
    out_deductible_fen: int
    threshold_fen: int
    threshold_per_year: bool
    bands: tuple[tuple[int, int | None, int], ...]  # (from_fen, to_fen, numerator)
    bands_den: int
    personal_cap_fen: int
    counts_in_policy: bool
    target_num: int
    target_den: int
    measure_in_policy: bool
    waive: Mapping[str, tuple[int, int]]
    amount_fen: int | None  # hospital_share: the fixed waiver; fixed_amount: the amount
    keeps_fen: int  # hospital_share: the patient keeps this much, the hospital the rest; -1: no
    line_only: frozenset[str]  # pays only on these line categories (empty: any)
    line_except: frozenset[str]  # leaves these line categories to other layers
    monthly_cap_fen: int | None
    higher_caps: tuple[tuple[str, int, int | None, int | None], ...]  # (eligible key, over, caps)
    once_per_year: bool
    per_admission_cap_fen: int | None
    annual_cap_fen: int | None
    key_paid: str
    key_deductible: str
    key_eligible: str
    key_personal: str


class ControlCheck(NamedTuple):
    """A settlement control fixed for one situation; ``measure`` names the ratio compared:
    ``actual`` (below the limit is a violation), ``patient`` or ``out_of_policy`` (above),
    or ``fixed`` (the finding depends on the visit only and sits in ``seen[0]``)."""

    rule: str
    measure: str
    limit: Decimal
    limit_text: str
    points: Decimal
    detail_ok: str
    detail_violated: str
    seen: dict[int, Finding]  # measured value (0.0001 units) -> Finding, filled by the engine


class Situation(NamedTuple):
    """Everything about the policy that depends only on the visit and the categories."""

    layers: tuple[LayerPlan, ...]
    checks: tuple[ControlCheck, ...]
    safety_nets: tuple[LayerPlan, ...]  # the applicable safety_net layers
    line_categories: frozenset[str]  # the line categories any layer treats apart


@dataclass(frozen=True, slots=True)
class CompiledControls:
    covered_categories: frozenset[str]
    target_ratio: Mapping[str, Decimal]
    personal_share_cap: Decimal | None
    out_of_policy_limit: Mapping[str, Decimal]
    pay_after_treatment: PayAfterTreatment | None
    referral_required_outside_county: bool
    points: Mapping[str, Decimal]
    default_points: Decimal


class CompiledPolicy:
    """A resolved policy version, ready to settle bills."""

    __slots__ = (
        "_plans",
        "categories",
        "content_hash",
        "controls",
        "document",
        "effective_from",
        "effective_to",
        "name",
        "region_code",
        "region_name",
        "sources",
        "version",
    )

    def __init__(self, document: Document) -> None:
        self.document = document
        self.region_code: str = document.region
        self.region_name: str | None = document.region_name
        self.name: str = document.name
        self.version: str = document.version
        self.effective_from: date = document.effective_from
        self.effective_to: date | None = document.effective_to
        self.sources: tuple[str, ...] = tuple(document.sources)
        self.categories: Mapping[str, str] = dict(document.categories)
        self.controls = _compile_controls(document)
        canonical = json.dumps(
            document.model_dump(mode="json", by_alias=True, exclude=_unstated(document)),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self.content_hash: str = hashlib.sha256(canonical.encode()).hexdigest()
        self._plans: dict[tuple[Any, ...], Situation] = {}

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.region_code} {self.version!r} {self.content_hash[:12]})"

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def plan(self, visit: Visit, categories: frozenset[str]) -> tuple[LayerPlan, ...]:
        """Every layer's parameters for this situation."""
        return self.situation(visit, categories).layers

    def situation(self, visit: Visit, categories: frozenset[str]) -> Situation:
        """Layer plans and control checks for this situation, computed once and cached."""
        key = (
            visit.visit_type,
            visit.hospital_level,
            visit.hospital_tier,
            visit.location,
            visit.in_pooling_region,
            visit.referred,
            visit.designated,
            visit.disease,
            categories,
        )
        plans = self._plans.get(key)
        if plans is None:
            if len(self._plans) >= _PLAN_CACHE_LIMIT:
                self._plans.clear()
            layers = tuple(_plan(layer, visit, categories) for layer in self.document.layers)
            plans = Situation(
                layers,
                _checks(self.controls, visit, categories),
                tuple(p for p in layers if p.kind == "safety_net" and p.applies),
                frozenset().union(*(p.line_only | p.line_except for p in layers if p.applies)),
            )
            self._plans[key] = plans
        return plans


def _unstated(document: Document) -> dict[str, Any] | None:
    """The optional sections and keys added after versions were stored, when a document leaves
    them out: excluded from the hash, so it hashes as it did before they existed (plan_year,
    pooling; pay_after_treatment.snapshot_max_age_days, ADR 0011)."""
    unset: dict[str, Any] = {
        k: True for k in ("plan_year", "pooling") if getattr(document, k) is None
    }
    rule = document.controls.pay_after_treatment
    if rule is not None and rule.snapshot_max_age_days is None:
        unset["controls"] = {"pay_after_treatment": {"snapshot_max_age_days": True}}
    return unset or None


def matches(when: When, visit: Visit, categories: frozenset[str]) -> bool:
    """Does the situation meet every condition given in ``when``?"""
    return (
        (when.categories is None or not categories.isdisjoint(when.categories))
        and (when.visit_types is None or visit.visit_type in when.visit_types)
        and (when.hospital_levels is None or visit.hospital_level in when.hospital_levels)
        and (when.hospital_tiers is None or visit.hospital_tier in when.hospital_tiers)
        and (when.locations is None or visit.location in when.locations)
        and (when.pooling_locations is None or visit.pooling_location in when.pooling_locations)
        and (when.referred is None or visit.referred == when.referred)
        and (when.designated is None or visit.designated == when.designated)
        and (when.diseases is None or visit.disease in when.diseases)
    )


def _by(table: Mapping[Any, Decimal] | None, key: str, default: Decimal | None) -> Decimal | None:
    """A value from a by-level / by-tier table, else the layer's plain value."""
    if table is not None and key in table:
        return table[key]
    return default


def _fraction(value: Decimal) -> Fraction:
    return Fraction(value)


def _clamp(value: Fraction) -> Fraction:
    return min(Fraction(1), max(Fraction(0), value))


def _plan(layer: Layer, visit: Visit, categories: frozenset[str]) -> LayerPlan:
    deductible = _by(layer.deductible_by_level, visit.hospital_level, layer.deductible)
    if layer.deductible_accumulates == "per_admission" and visit.visit_type != "inpatient":
        # 住院起付线 is charged per inpatient stay: an outpatient visit pays a deductible only
        # where an adjustment for its visit type sets one.
        deductible = Decimal(0)
    p: dict[str, Any] = {
        "applies": matches(layer.applies_to, visit, categories),
        "ratio": _by(layer.ratio_by_level, visit.hospital_level, layer.ratio),
        "ratio_add": Decimal(0),
        "out_of_policy_ratio": layer.out_of_policy_ratio,
        "deductible": deductible,
        "threshold": layer.threshold,
        "threshold_factor": Decimal(1),
        "personal_cap": _by(layer.personal_cap_by_tier, visit.hospital_tier, layer.personal_cap),
        "target_ratio": layer.target_ratio,
        "per_admission_cap": layer.per_admission_cap,
        "annual_cap": layer.annual_cap,
        "amount": layer.amount,
        "patient_keeps": layer.patient_keeps,
        "monthly_cap": layer.monthly_cap,
        "out_of_policy_deductible": layer.out_of_policy_deductible,
    }
    for adjustment in layer.adjustments:
        if matches(adjustment.when, visit, categories):
            for field in adjustment.model_fields_set - {"when", "deductible_by_level"}:
                value = getattr(adjustment, field)
                if field == "ratio_add":
                    p["ratio_add"] += value
                elif field == "threshold_factor":
                    p["threshold_factor"] *= value
                else:
                    p[field] = value
            by_level = adjustment.deductible_by_level
            if by_level is not None and visit.hospital_level in by_level:
                p["deductible"] = by_level[visit.hospital_level]
    if layer.kind == "safety_net" and p["personal_cap"] is None:
        p["applies"] = False  # a tier the policy does not list
    if layer.kind == "ratio" and p["ratio"] is None:
        p["applies"] = False  # a hospital level the policy does not list
    return _layer_plan(layer, p)


def _layer_plan(layer: Layer, p: Mapping[str, Any]) -> LayerPlan:
    add = _fraction(p["ratio_add"])
    ratio = _clamp(_fraction(p["ratio"]) + add) if p["ratio"] is not None else Fraction(0)
    out = (
        _clamp(_fraction(p["out_of_policy_ratio"]))
        if p["out_of_policy_ratio"] is not None
        else None
    )
    threshold = (
        yuan_to_fen(p["threshold"] * p["threshold_factor"]) if p["threshold"] is not None else 0
    )
    bands, bands_den = _compile_bands(layer, threshold, add)
    target = _fraction(p["target_ratio"]) if p["target_ratio"] is not None else Fraction(0)
    later = _fraction(layer.later_admissions.factor) if layer.later_admissions is not None else None
    key = layer.pool or layer.code
    ratio_text = {
        "bands": "bands",
        "safety_net": "cap",
        "fee_waiver": "waiver",
        "hospital_share": "hospital",
        "fixed_amount": "fixed",
        "external": "given",
    }
    text = ratio_text.get(layer.kind, ratio_label(ratio))
    if layer.kind == "top_up":
        text = f"target {ratio_label(target)}"
    elif out is not None:
        text = f"{text}; out {ratio_label(out)}"
    base = layer.base
    if layer.kind == "safety_net":
        base = "in_policy_remaining" if layer.counts == "in_policy" else "total_remaining"
    elif layer.kind == "top_up":
        base = "in_policy_remaining" if layer.covers == "in_policy" else "total_remaining"
    return LayerPlan(
        code=layer.code,
        fund_type=layer.fund_type,
        name=layer.name,
        kind=layer.kind,
        applies=bool(p["applies"]),
        base=base,
        ratio_num=ratio.numerator,
        ratio_den=ratio.denominator,
        ratio_text=text,
        out_num=out.numerator if out is not None else 0,
        out_den=out.denominator if out is not None else 0,
        deductible_fen=yuan_to_fen(p["deductible"]),
        deductible_per_year=layer.deductible_accumulates == "per_year",
        deductible_mode=layer.deductible_accumulates,
        later_num=later.numerator if later is not None else 0,
        later_den=later.denominator if later is not None else 0,
        later_floor_fen=(
            yuan_to_fen(layer.later_admissions.floor) if layer.later_admissions is not None else 0
        ),
        out_deductible_fen=yuan_to_fen(p["out_of_policy_deductible"]),
        threshold_fen=threshold,
        threshold_per_year=layer.threshold_accumulates == "per_year",
        bands=bands,
        bands_den=bands_den,
        personal_cap_fen=yuan_to_fen(p["personal_cap"]) if p["personal_cap"] is not None else 0,
        counts_in_policy=layer.counts == "in_policy",
        target_num=target.numerator,
        target_den=target.denominator,
        measure_in_policy=layer.measure == "in_policy",
        waive={
            item: (Fraction(r).numerator, Fraction(r).denominator)
            for item, r in (layer.waive or {}).items()
        },
        amount_fen=_fen_or_none(p["amount"]),
        keeps_fen=yuan_to_fen(p["patient_keeps"]) if p["patient_keeps"] is not None else -1,
        line_only=frozenset(layer.line_categories or ()),
        line_except=frozenset(layer.excludes_line_categories or ()),
        monthly_cap_fen=_fen_or_none(p["monthly_cap"]),
        higher_caps=tuple(
            (
                f"{h.eligible_of}.eligible",
                yuan_to_fen(h.over),
                _fen_or_none(h.annual_cap),
                _fen_or_none(h.per_admission_cap),
            )
            for h in layer.higher_caps
        ),
        once_per_year=layer.once_per_year,
        per_admission_cap_fen=_fen_or_none(p["per_admission_cap"]),
        annual_cap_fen=_fen_or_none(p["annual_cap"]),
        key_paid=f"{key}.paid",
        key_deductible=f"{key}.deductible_used",
        key_eligible=f"{key}.eligible",
        key_personal=f"{key}.personal_paid",
    )


def _fen_or_none(value: Decimal | None) -> int | None:
    return None if value is None else yuan_to_fen(value)


def _compile_bands(
    layer: Layer, threshold_fen: int, add: Fraction
) -> tuple[tuple[tuple[int, int | None, int], ...], int]:
    """Band edges as absolute points on the year's eligible amount, ratios over one
    common denominator. ``above_threshold`` edges are shifted by the threshold; in the
    ``cumulative`` convention the bands start at the (possibly adjusted) threshold: a lowered
    threshold extends the first band down to it, a raised one cuts every band below it, so
    nothing is ever paid on the amount under the threshold in force."""
    if not layer.bands:
        return (), 1
    ratios = [_clamp(_fraction(band.ratio) + add) for band in layer.bands]
    den = math.lcm(*(r.denominator for r in ratios))
    cumulative = layer.convention == "cumulative"
    shift = 0 if cumulative else threshold_fen
    out = []
    for i, (band, ratio) in enumerate(zip(layer.bands, ratios, strict=True)):
        low = yuan_to_fen(band.from_) + shift
        low = threshold_fen if cumulative and i == 0 else max(low, threshold_fen)
        high = yuan_to_fen(band.to) + shift if band.to is not None else None
        if high is not None and high <= low:
            continue
        out.append((low, high, ratio.numerator * (den // ratio.denominator)))
    return tuple(out), den


def _checks(
    controls: CompiledControls, visit: Visit, categories: frozenset[str]
) -> tuple[ControlCheck, ...]:
    """The settlement controls for a patient in a covered category (none otherwise)."""
    if controls.covered_categories.isdisjoint(categories):
        return ()
    level, visit_type = visit.hospital_level, visit.visit_type
    wanted = (
        (
            "BELOW_TARGET_RATIO",
            "actual",
            controls.target_ratio.get(visit_type),
            f"actual reimbursement ratio (实际报销比例) against the {visit_type} target",
            "met",
            "below target",
        ),
        (
            "SELF_PAY_OVER_CAP",
            "patient",
            controls.personal_share_cap,
            "personal share (个人自付比例) against its cap",
            "within",
            "over the cap",
        ),
        (
            "OUT_OF_POLICY_OVER_LIMIT",
            "out_of_policy",
            controls.out_of_policy_limit.get(level),
            f"out-of-catalogue share (目录外费用占比) against the {level} hospital limit",
            "within",
            "over the limit",
        ),
    )
    checks = []
    for rule, measure, limit, what, ok, bad in wanted:
        if limit is not None:
            points = controls.points.get(rule, controls.default_points)
            checks.append(
                ControlCheck(
                    rule, measure, limit, str(limit), points, f"{what}: {ok}", f"{what}: {bad}", {}
                )
            )
    if controls.referral_required_outside_county and visit.location != "in_county":
        checks.append(_referral_check(controls, visit))
    return tuple(checks)


def _referral_check(controls: CompiledControls, visit: Visit) -> ControlCheck:
    """IMPROPER_REFERRAL: care outside the county without a referral (不规范转诊)."""
    rule = "IMPROPER_REFERRAL"
    violated = not visit.referred
    points = controls.points.get(rule, controls.default_points) if violated else Decimal(0)
    detail = f"{visit.location} admission {'without' if violated else 'with'} a referral (转诊)"
    measured = "referred" if visit.referred else "not referred"
    finding = Finding(rule, violated, measured, "referral required", points, detail)
    return ControlCheck(rule, "fixed", Decimal(0), "", points, detail, detail, {0: finding})


def _compile_controls(document: Document) -> CompiledControls:
    c = document.controls
    return CompiledControls(
        covered_categories=frozenset(c.covered_categories),
        target_ratio={str(k): v for k, v in c.target_ratio.items()},
        personal_share_cap=c.personal_share_cap,
        out_of_policy_limit={str(k): v for k, v in c.out_of_policy_limit.items()},
        pay_after_treatment=c.pay_after_treatment,
        referral_required_outside_county=c.referral_required_outside_county,
        points=dict(c.points),
        default_points=c.default_points,
    )
