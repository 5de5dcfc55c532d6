"""Controls (督查规则): settlement findings, pay-after-treatment eligibility, points."""

from __future__ import annotations

from decimal import Decimal

from service.policy.compiled import CompiledPolicy
from service.policy.model import Eligibility, Visit
from service.policy.money import yuan_to_fen

__all__ = [
    "deposit_when_unknown",
    "is_covered",
    "pay_after_treatment",
    "points_for",
    "snapshot_max_age_days",
]


def points_for(policy: CompiledPolicy, rule_code: str) -> Decimal:
    """Deduction points one finding of this rule costs (每发现1人次扣…分)."""
    controls = policy.controls
    return controls.points.get(rule_code, controls.default_points)


def is_covered(policy: CompiledPolicy, categories: frozenset[str]) -> bool:
    """Is the patient in one of the programme's covered categories?"""
    return not policy.controls.covered_categories.isdisjoint(categories)


def pay_after_treatment(
    policy: CompiledPolicy, *, visit: Visit, categories: frozenset[str]
) -> Eligibility:
    """先诊疗后付费: may this patient be admitted without a deposit?"""
    rule = policy.controls.pay_after_treatment
    if rule is None:
        return Eligibility(False, ("NO_PAY_AFTER_TREATMENT_RULE",), None)
    matched = sorted(categories.intersection(rule.categories))
    reasons = [f"ELIGIBLE_CATEGORY:{code}" for code in matched]
    blockers = []
    if not matched:
        blockers.append("CATEGORY_NOT_COVERED")
    if visit.visit_type not in rule.visit_types:
        blockers.append("VISIT_TYPE_NOT_COVERED")
    outside = _outside(rule.scope, visit)
    if outside is not None:
        blockers.append(outside)
    if rule.designated_only and not visit.designated:
        blockers.append("NOT_DESIGNATED")
    needs_referral = rule.referral_required_outside_county and visit.location != "in_county"
    if needs_referral and not visit.referred:
        blockers.append("NO_REFERRAL")
    if blockers:
        return Eligibility(False, tuple(blockers + reasons), None)
    deposit = yuan_to_fen(rule.deposit_when_eligible)
    return Eligibility(True, tuple(reasons), deposit)


def _outside(scope: str, visit: Visit) -> str | None:
    """The blocker when the hospital lies outside where the rule applies, else None."""
    if scope == "county" and visit.location != "in_county":
        return "OUT_OF_COUNTY"
    if scope == "pooling_region" and visit.pooling_location != "in_pooling_region":
        return "OUT_OF_POOLING_REGION"
    if scope == "province" and visit.location == "out_of_province":
        return "OUT_OF_PROVINCE"
    return None


def deposit_when_unknown(policy: CompiledPolicy) -> int | None:
    """The deposit (fen) the desk may take while the patient's status is unknown; None: no
    limit, which is also the answer of a policy with no pay-after-treatment rule at all."""
    rule = policy.controls.pay_after_treatment
    if rule is None or rule.deposit_when_unknown is None:
        return None
    return yuan_to_fen(rule.deposit_when_unknown)


def snapshot_max_age_days(policy: CompiledPolicy) -> int | None:
    """The oldest (whole days on the visit day) a roster snapshot may be to confirm cover;
    None: no limit, which is also the answer of a policy with no pay-after-treatment rule."""
    rule = policy.controls.pay_after_treatment
    return None if rule is None else rule.snapshot_max_age_days
