"""二次救助 / 年度补足: a top-up computed once over a person's settled year, not per bill.

Pure like the engine: the caller hands in the year's stays (visit, bill, settlement result) in
order; the answer is what each ``year_end`` entry of the policy pays and the patient's share
before and after. Integer fen, one rounding rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import NamedTuple

from service.policy.compiled import CompiledPolicy, matches
from service.policy.model import Bill, SettlementResult, Visit
from service.policy.money import round_half_up, yuan_to_fen

__all__ = ["YearEndPayment", "settle_year_end"]


class YearEndPayment(NamedTuple):
    """What one ``year_end`` entry pays over the year."""

    code: str
    fund_type: str
    name: str
    stays: int  # the stays it counted
    cost_fen: int  # the year's cost in its scope (in-catalogue or total)
    self_pay_fen: int  # the patient's share it saw (after earlier year-end entries)
    deductible_fen: int  # the larger of the deductible and the share cap
    amount_fen: int
    patient_after_fen: int


def settle_year_end(
    policy: CompiledPolicy,
    *,
    categories: frozenset[str],
    stays: Sequence[tuple[Visit, Bill, SettlementResult]],
    already_paid: Mapping[str, int] | None = None,
) -> tuple[YearEndPayment, ...]:
    """Every ``year_end`` entry in order over the person's year (``already_paid``: what each
    code paid earlier in the same year, counted against its ``annual_cap``)."""
    paid_before = already_paid or {}
    taken: dict[int, int] = {}  # stay index -> what earlier year-end entries took of it
    out = []
    for entry in policy.document.year_end:
        counted = [
            (i, bill, result)
            for i, (visit, bill, result) in enumerate(stays)
            if matches(entry.applies_to, visit, categories)
        ]
        in_policy = entry.counts == "in_policy"
        cost = sum(b.in_policy_fen if in_policy else b.total_fen for _, b, _ in counted)
        self_pay = sum(
            (r.patient_in_policy_fen if in_policy else r.patient_pays_fen) - taken.get(i, 0)
            for i, _, r in counted
        )
        floor = yuan_to_fen(entry.deductible)
        if entry.self_pay_share_cap is not None:
            share = Fraction(entry.self_pay_share_cap)
            floor = max(floor, round_half_up(share.numerator * cost, share.denominator))
        ratio = Fraction(entry.ratio) if entry.ratio is not None else Fraction(1)
        above = self_pay - floor if self_pay > floor else 0
        amount = round_half_up(ratio.numerator * above, ratio.denominator)
        if entry.annual_cap is not None:
            room = yuan_to_fen(entry.annual_cap) - paid_before.get(entry.code, 0)
            amount = min(amount, room if room > 0 else 0)
        left = amount
        for i, _, r in counted:  # book it against the stays in order, for the next entry
            own = (r.patient_in_policy_fen if in_policy else r.patient_pays_fen) - taken.get(i, 0)
            take = min(own, left)
            taken[i] = taken.get(i, 0) + take
            left -= take
        out.append(
            YearEndPayment(
                entry.code,
                entry.fund_type,
                entry.name,
                len(counted),
                cost,
                self_pay,
                floor,
                amount,
                self_pay - amount,
            )
        )
    return tuple(out)
