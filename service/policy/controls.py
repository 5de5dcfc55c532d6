"""Controls (督查规则): settlement findings, pay-after-treatment eligibility, points."""

from __future__ import annotations

from decimal import Decimal

from service.policy.compiled import CompiledPolicy
from service.policy.model import Eligibility, Visit
from service.policy.money import yuan_to_fen

__all__ = ["deposit_when_unknown", "is_covered", "pay_after_treatment", "points_for"]


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
    if rule.in_county_only and visit.location != "in_county":
        blockers.append("OUT_OF_COUNTY")
    if rule.designated_only and not visit.designated:
        blockers.append("NOT_DESIGNATED")
    needs_referral = rule.referral_required_outside_county and visit.location != "in_county"
    if needs_referral and not visit.referred:
        blockers.append("NO_REFERRAL")
    if blockers:
        return Eligibility(False, tuple(blockers + reasons), None)
    deposit = yuan_to_fen(rule.deposit_when_eligible)
    return Eligibility(True, tuple(reasons), deposit)


def deposit_when_unknown(policy: CompiledPolicy) -> int | None:
    """The deposit (fen) the desk may take while the patient's status is unknown; None: no
    limit, which is also the answer of a policy with no pay-after-treatment rule at all."""
    rule = policy.controls.pay_after_treatment
    if rule is None or rule.deposit_when_unknown is None:
        return None
    return yuan_to_fen(rule.deposit_when_unknown)
