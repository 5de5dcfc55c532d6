"""A stay across the end of a plan year (跨年度住院) under ``cross_year: split`` (ADR 0018).

The bill is cut at each plan-year end and every part is settled against its own year's
accumulators, deductibles and caps. The parts come from the bill's amounts by date when the HIS
sends them (``bill.by_date``), else from a share of the stay's bed days
(service/policy/plan_year.py ``split_days``): each amount is shared in proportion to the part's
days, rounded half up to the fen, the last part taking what is left so the parts add up to the
bill exactly. Itemised lines, and external layers' amounts, are shared the same way.

Under ``cross_year: discharge_year`` (the default) the whole stay is settled in the year of
discharge, as one part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from service.money import share
from service.policy import Bill, BillLine, CompiledPolicy, SettlementResult
from service.policy.plan_year import plan_year_of, rules_of, split_days
from service.policy.year_parts import combined_layers

__all__ = ["YearBill", "combine", "year_bills"]


@dataclass(frozen=True, slots=True)
class YearBill:
    """The part of a stay's bill settled in one plan year."""

    year: int
    first_day: date
    last_day: date
    days: int
    bill: Bill
    given: Mapping[str, int]


def _shares(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` shared by ``weights`` (half up), the last share taking the remainder."""
    whole = sum(weights)
    if whole == 0:
        return [0] * (len(weights) - 1) + [amount]
    out = [
        int((Decimal(amount) * w / whole).to_integral_value(ROUND_HALF_UP)) for w in weights[:-1]
    ]
    return [*out, amount - sum(out)]


def year_bills(
    policy: CompiledPolicy,
    *,
    bill: Bill,
    given: Mapping[str, int],
    admitted_on: date,
    discharged_on: date,
    by_date: Sequence[tuple[date, int, int]] = (),
) -> list[YearBill]:
    """The stay's parts, one per plan year, in date order (one part unless the policy splits
    and the stay crosses a plan-year end). ``by_date``: (day, in_policy_fen, out_of_policy_fen)
    rows that add up to the bill."""
    rules = rules_of(policy)
    parts = split_days(rules, admitted_on=admitted_on, discharged_on=discharged_on)
    if rules.cross_year != "split" or len(parts) == 1:
        year = plan_year_of(rules, discharged_on)
        return [YearBill(year, admitted_on, discharged_on, parts[-1].days, bill, dict(given))]
    if by_date:
        years = [p.year for p in parts]
        inside = [sum(i for d, i, _ in by_date if plan_year_of(rules, d) == y) for y in years]
        outside = [sum(o for d, _, o in by_date if plan_year_of(rules, d) == y) for y in years]
        weights = [i + o for i, o in zip(inside, outside, strict=True)]
    else:
        weights = [p.days for p in parts]
        inside = _shares(bill.in_policy_fen, weights)
        outside = _shares(bill.out_of_policy_fen, weights)
    line_shares = [_shares(line.amount_fen, weights) for line in bill.lines]
    given_shares = {code: _shares(fen, weights) for code, fen in given.items()}
    out = []
    for n, part in enumerate(parts):
        lines = tuple(
            BillLine(line.item, shares[n], line.in_policy)
            for line, shares in zip(bill.lines, line_shares, strict=True)
        )
        if lines and (
            sum(x.amount_fen for x in lines if x.in_policy) != inside[n]
            or sum(x.amount_fen for x in lines) != inside[n] + outside[n]
        ):
            lines = ()  # amounts by date that the lines' shares do not match: settle on totals
        out.append(
            YearBill(
                part.year,
                part.first_day,
                part.last_day,
                part.days,
                Bill(inside[n] + outside[n], inside[n], outside[n], lines),
                {code: shares[n] for code, shares in given_shares.items()},
            )
        )
    return out


def combine(results: Sequence[SettlementResult], bill: Bill) -> SettlementResult:
    """One settlement of the whole stay from its parts' results: amounts add up layer by layer
    (the parts' versions may differ in their layers: every layer of any part is shown); ratios
    are recomputed on the sums; the findings, the caps left and the deltas (the discharge
    year's) are the last part's; the trace is every part's in order."""
    if len(results) == 1:
        return results[0]
    last = results[-1]
    layers = combined_layers(results)
    total = sum(r.total_fen for r in results)
    waived = sum(r.waived_fen for r in results)
    funds = sum(r.funds_total_fen for r in results)
    net = total - waived
    return last._replace(
        layers=layers,
        total_fen=total,
        waived_fen=waived,
        funds_total_fen=funds,
        patient_pays_fen=sum(r.patient_pays_fen for r in results),
        patient_in_policy_fen=sum(r.patient_in_policy_fen for r in results),
        patient_out_of_policy_fen=sum(r.patient_out_of_policy_fen for r in results),
        actual_ratio=share(funds, net),  # as the engine rounds it (service/policy/money.py)
        out_of_policy_share=share(bill.out_of_policy_fen, total),
        trace=tuple(line for r in results for line in r.trace),
    )
