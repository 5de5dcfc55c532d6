"""The violations one settlement finds: the engine's violated controls, NOT_ONE_STOP (layers
skipped that one-stop settlement would have paid) and IMPROPER_REFERRAL (when it cost the
patient money), each with its numbers as evidence; booked with the settlement once it has an id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from service.money import fen_to_yuan
from service.policy import SettlementResult, is_covered, points_for
from service.settlements.context import Context
from service.settlements.engine_run import run


@dataclass(frozen=True, slots=True)
class Booking:
    """A violation this settlement finds, booked with it once it has an id."""

    rule_code: str
    points: Decimal
    evidence: dict[str, Any]


def _money(result: SettlementResult) -> dict[str, str]:
    return {
        "total": fen_to_yuan(result.total_fen),
        "fund_total": fen_to_yuan(result.funds_total_fen),
        "patient_pays": fen_to_yuan(result.patient_pays_fen),
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
            "patient_pays_one_stop": fen_to_yuan(one_stop.patient_pays_fen),
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
                "patient_pays_if_referred": fen_to_yuan(referred.patient_pays_fen),
                "patient_extra": fen_to_yuan(extra),
            }
            found.append(
                Booking("IMPROPER_REFERRAL", points_for(policy, "IMPROPER_REFERRAL"), evidence)
            )
    return found
