"""The engine run for one settlement, the violations it finds, and the stored answer.

`render` produces everything the API returns about a settlement except what only exists
once it is stored (id, status, HIS id, created_at, reversal); it is stored with the row, so
a replay returns the same body byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from service.policy import SettlementResult, Visit, is_covered, points_for, settle
from service.settlements.capitals import capital_amount
from service.settlements.context import Context
from service.settlements.errors import InvalidExternalAmounts
from service.settlements.money import yuan

NATIONAL_FUNDS = {
    "basic_insurance": "hifp_pay",
    "critical_illness": "hifmi_pay",
    "medical_aid": "maf_pay",
}


@dataclass(frozen=True, slots=True)
class Booking:
    """A violation this settlement finds, booked with it once it has an id."""

    rule_code: str
    points: Decimal
    evidence: dict[str, Any]


def run(
    ctx: Context,
    year: Mapping[str, int],
    *,
    visit: Visit | None = None,
    skip: frozenset[str] | None = None,
    trace: bool = True,
) -> SettlementResult:
    try:
        return settle(
            ctx.policy,
            visit=visit or ctx.visit,
            categories=ctx.categories,
            bill=ctx.bill,
            year=year,
            skip_layers=ctx.skip if skip is None else skip,
            trace=trace,
            given=ctx.given,
        )
    except ValueError as exc:  # an external amount outside 0..its base
        raise InvalidExternalAmounts(str(exc), field="external_amounts") from exc


def _money(result: SettlementResult) -> dict[str, str]:
    return {
        "total": yuan(result.total_fen),
        "fund_total": yuan(result.funds_total_fen),
        "patient_pays": yuan(result.patient_pays_fen),
        "actual_ratio": str(result.actual_ratio),
        "out_of_policy_share": str(result.out_of_policy_share),
    }


def bookings(ctx: Context, result: SettlementResult, year: Mapping[str, int]) -> list[Booking]:
    """The engine's violated controls, NOT_ONE_STOP and IMPROPER_REFERRAL (when it cost the
    patient money), each with the numbers as evidence."""
    policy, money = ctx.policy, _money(result)
    found = [
        Booking(
            f.rule,
            points_for(policy, f.rule),
            {**money, "measured": f.measured, "limit": f.limit, "detail": f.detail},
        )
        for f in result.findings
        if f.violated and f.rule != "IMPROPER_REFERRAL"  # booked below, only if it cost money
    ]
    if not is_covered(policy, ctx.categories):
        return found
    skipped = [
        p.code for p in policy.plan(ctx.visit, ctx.categories) if p.applies and p.code in ctx.skip
    ]
    if skipped:
        one_stop = run(ctx, year, skip=frozenset(), trace=False)
        evidence: dict[str, Any] = {
            **money,
            "settlement_mode": ctx.mode,
            "skipped_layers": skipped,
            "patient_pays_one_stop": yuan(one_stop.patient_pays_fen),
        }
        found.append(Booking("NOT_ONE_STOP", points_for(policy, "NOT_ONE_STOP"), evidence))
    if ctx.visit.location != "in_county" and not ctx.visit.referred:
        referred = run(ctx, year, visit=replace(ctx.visit, referred=True), trace=False)
        extra = result.patient_pays_fen - referred.patient_pays_fen
        if extra > 0:
            evidence = {
                **money,
                "location": ctx.visit.location,
                "referred": False,
                "patient_pays_if_referred": yuan(referred.patient_pays_fen),
                "patient_extra": yuan(extra),
            }
            found.append(
                Booking("IMPROPER_REFERRAL", points_for(policy, "IMPROPER_REFERRAL"), evidence)
            )
    return found


def national_fields(ctx: Context, result: SettlementResult) -> dict[str, str]:
    """The totals under the national settlement field names (医保结算字段)."""
    paid = {"hifp_pay": 0, "hifmi_pay": 0, "maf_pay": 0, "oth_pay": 0}
    for layer in result.layers:
        paid[NATIONAL_FUNDS.get(layer.fund_type, "oth_pay")] += layer.amount_fen
    funds = sum(paid.values())
    if funds + result.patient_pays_fen != result.total_fen:
        raise AssertionError(f"layers {funds} + patient {result.patient_pays_fen} != bill")
    parts = ctx.out_of_policy
    return {
        "medfee_sumamt": yuan(result.total_fen),
        "fund_pay_sumamt": yuan(funds),
        **{name: yuan(fen) for name, fen in paid.items()},
        "psn_part_amt": yuan(result.patient_pays_fen),
        "fulamt_ownpay_amt": yuan(parts.full_self_pay_fen),
        "overlmt_selfpay": yuan(parts.over_limit_fen),
        "preselfpay_amt": yuan(parts.pre_self_pay_fen),
        "inscp_scp_amt": yuan(ctx.bill.in_policy_fen),
    }


def render(ctx: Context, result: SettlementResult, found: list[Booking]) -> dict[str, Any]:
    """The stored answer: JSON-ready, amounts as two-place strings."""
    policy = ctx.policy
    return {
        "hospital_code": ctx.hospital_code,
        "visit_id": ctx.visit_id,
        "settlement_mode": ctx.mode,
        "person_masked": ctx.person_masked,
        "insured_county": ctx.insured_county,
        "admitted_at": ctx.admitted_at.isoformat(),
        "discharged_at": ctx.discharged_at.isoformat(),
        "year": ctx.scope.year,
        "layers": [
            {
                "code": r.code,
                "fund_type": r.fund_type,
                "name": r.name,
                "applied": r.applied,
                "base": yuan(r.base_fen),
                "deductible_used": yuan(r.deductible_fen),
                "ratio": r.ratio,
                "amount": yuan(r.amount_fen),
                "cap_left": None if r.cap_left_fen is None else yuan(r.cap_left_fen),
            }
            for r in result.layers
        ],
        "totals": {
            "total": yuan(result.total_fen),
            "waived": yuan(result.waived_fen),
            "fund_total": yuan(result.funds_total_fen),
            "patient_pays": yuan(result.patient_pays_fen),
            "patient_pays_in_capitals": capital_amount(result.patient_pays_fen),
            "patient_in_policy": yuan(result.patient_in_policy_fen),
            "patient_out_of_policy": yuan(result.patient_out_of_policy_fen),
            "actual_ratio": str(result.actual_ratio),
            "out_of_policy_share": str(result.out_of_policy_share),
        },
        **national_fields(ctx, result),
        "findings": [
            {
                "rule": f.rule,
                "violated": f.violated,
                "measured": f.measured,
                "limit": f.limit,
                "points": str(f.points),
                "detail": f.detail,
            }
            for f in result.findings
        ],
        "violation_findings": [b.rule_code for b in found],
        "violations_booked": [b.rule_code for b in found],
        "policy": {
            "region_code": policy.region_code,
            "name": policy.name,
            "version": policy.version,
            "content_hash": policy.content_hash,
        },
        "trace": [{"step": t.step, "zh": t.zh, "en": t.en} for t in result.trace],
    }
