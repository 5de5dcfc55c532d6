"""Staged settlement (中途结算) of a long stay (ADR 0018).

A stay may be settled in stages, each a settlement of the visit with its own slip: the earlier
ones flagged mid-settlement (NHSA ``mid_setl_flag`` 1), the last at discharge. A stage is settled
as the difference between settling the stay so far (every stage's bill of the same plan year
added up) on the accumulators as they were before the stay's first stage, and what the earlier
stages paid. Thresholds, deductibles (also per admission) and caps therefore continue across
stages as if the stay were settled once, and the stages of a stay add up to the single
settlement to the fen. Stages in an earlier plan year are not added up: a new plan year starts
its own deductibles and caps. A per-admission deductible is therefore taken once per admission
in each plan year it is settled in, never once per stage: a stage split at a plan-year end
continues the earlier stages of its first year in that part, and the stage after it continues
its last year's part (``part_record``, kept with it).

Pure: the settlement service reads the earlier stages' rows and locks the accumulators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.money import fen_to_yuan, share, yuan_to_fen
from service.policy import Bill, BillLine, SettlementResult
from service.policy.model import LayerResult
from service.settlements.accumulators import SETTLED_KEY

__all__ = [
    "Paid",
    "baseline",
    "bill_record",
    "paid_from",
    "paid_of",
    "part_record",
    "so_far",
    "stage_of",
]


@dataclass(frozen=True, slots=True)
class Paid:
    """What an earlier stage settled, as stored with it."""

    bill: Bill
    given: Mapping[str, int]
    layers: Mapping[str, tuple[int, int, int]]  # code -> (base, deductible, amount) in fen
    waived_fen: int
    funds_fen: int
    patient_fen: int
    patient_in_fen: int
    patient_out_fen: int
    deltas: Mapping[str, int]  # the engine's, without the settled-visit count


def bill_record(bill: Bill, given: Mapping[str, int]) -> dict[str, Any]:
    """The stage's own bill in fen, kept in the stored result for the stages after it."""
    return {
        "total": bill.total_fen,
        "in_policy": bill.in_policy_fen,
        "out_of_policy": bill.out_of_policy_fen,
        "lines": [[line.item, line.amount_fen, line.in_policy] for line in bill.lines],
        "given": dict(given),
    }


def part_record(result: SettlementResult, bill: Bill, given: Mapping[str, int]) -> dict[str, Any]:
    """A stage split at a plan-year end: its last year's part, in the shape `paid_of` reads
    (its layers, totals and bill), so the stage after it continues that year's stay. The
    stored row's deltas are that part's already."""
    y = fen_to_yuan
    return {
        "stage_bill": bill_record(bill, given),
        "layers": [
            {
                "code": r.code,
                "base": y(r.base_fen),
                "deductible_used": y(r.deductible_fen),
                "amount": y(r.amount_fen),
            }
            for r in result.layers
        ],
        "totals": {
            "waived": y(result.waived_fen),
            "fund_total": y(result.funds_total_fen),
            "patient_pays": y(result.patient_pays_fen),
            "patient_in_policy": y(result.patient_in_policy_fen),
            "patient_out_of_policy": y(result.patient_out_of_policy_fen),
        },
    }


def paid_of(result: Mapping[str, Any], deltas: Mapping[str, int]) -> Paid:
    """An earlier stage from its stored result and deltas."""
    record = result["stage_bill"]
    totals = result["totals"]
    lines = tuple(BillLine(item, int(fen), bool(inside)) for item, fen, inside in record["lines"])
    return Paid(
        bill=Bill(record["total"], record["in_policy"], record["out_of_policy"], lines),
        given={k: int(v) for k, v in record["given"].items()},
        layers={
            layer["code"]: (
                yuan_to_fen(Decimal(layer["base"])),
                yuan_to_fen(Decimal(layer["deductible_used"])),
                yuan_to_fen(Decimal(layer["amount"])),
            )
            for layer in result["layers"]
        },
        waived_fen=yuan_to_fen(Decimal(totals["waived"])),
        funds_fen=yuan_to_fen(Decimal(totals["fund_total"])),
        patient_fen=yuan_to_fen(Decimal(totals["patient_pays"])),
        patient_in_fen=yuan_to_fen(Decimal(totals["patient_in_policy"])),
        patient_out_fen=yuan_to_fen(Decimal(totals["patient_out_of_policy"])),
        deltas={k: v for k, v in deltas.items() if k != SETTLED_KEY},
    )


def so_far(
    bill: Bill, given: Mapping[str, int], earlier: Sequence[Paid]
) -> tuple[Bill, dict[str, int]]:
    """The stay's bill and external amounts up to and including this stage. Itemised lines are
    kept only if every stage has them."""
    bills = [*(p.bill for p in earlier), bill]
    keep_lines = all(b.lines for b in bills)
    total = Bill(
        sum(b.total_fen for b in bills),
        sum(b.in_policy_fen for b in bills),
        sum(b.out_of_policy_fen for b in bills),
        tuple(line for b in bills for line in b.lines) if keep_lines else (),
    )
    amounts: dict[str, int] = {}
    for g in [*(p.given for p in earlier), given]:
        for code, fen in g.items():
            amounts[code] = amounts.get(code, 0) + fen
    return total, amounts


def baseline(locked: Mapping[str, int], earlier: Sequence[Paid]) -> dict[str, int]:
    """The accumulators as they were before the stay's first stage of this plan year."""
    values = dict(locked)
    for paid in earlier:
        for key, delta in paid.deltas.items():
            values[key] = values.get(key, 0) - delta
    return values


def _less(value: int, earlier: Sequence[Paid], pick: Any) -> int:
    return value - int(sum(pick(p) for p in earlier))


def stage_of(cumulative: SettlementResult, earlier: Sequence[Paid], bill: Bill) -> SettlementResult:
    """This stage's settlement: the stay so far less what the earlier stages paid."""
    layers = tuple(
        LayerResult(
            code=r.code,
            fund_type=r.fund_type,
            name=r.name,
            applied=r.applied,
            base_fen=_less(r.base_fen, earlier, lambda p, c=r.code: p.layers.get(c, (0, 0, 0))[0]),
            deductible_fen=_less(
                r.deductible_fen, earlier, lambda p, c=r.code: p.layers.get(c, (0, 0, 0))[1]
            ),
            ratio=r.ratio,
            amount_fen=_less(
                r.amount_fen, earlier, lambda p, c=r.code: p.layers.get(c, (0, 0, 0))[2]
            ),
            cap_left_fen=r.cap_left_fen,
        )
        for r in cumulative.layers
    )
    deltas = dict(cumulative.deltas)
    for paid in earlier:
        for key, delta in paid.deltas.items():
            deltas[key] = deltas.get(key, 0) - delta
    waived = _less(cumulative.waived_fen, earlier, lambda p: p.waived_fen)
    funds = _less(cumulative.funds_total_fen, earlier, lambda p: p.funds_fen)
    net = bill.total_fen - waived
    return cumulative._replace(
        layers=layers,
        total_fen=bill.total_fen,
        waived_fen=waived,
        funds_total_fen=funds,
        patient_pays_fen=_less(cumulative.patient_pays_fen, earlier, lambda p: p.patient_fen),
        patient_in_policy_fen=_less(
            cumulative.patient_in_policy_fen, earlier, lambda p: p.patient_in_fen
        ),
        patient_out_of_policy_fen=_less(
            cumulative.patient_out_of_policy_fen, earlier, lambda p: p.patient_out_fen
        ),
        actual_ratio=share(funds, net),  # as the engine rounds it (service/policy/money.py)
        out_of_policy_share=share(bill.out_of_policy_fen, bill.total_fen),
        deltas={k: v for k, v in deltas.items() if v},
    )


def paid_from(result: SettlementResult, bill: Bill, given: Mapping[str, int]) -> Paid:
    """An earlier stage from its result (what `paid_of` reads back from the stored row)."""
    return Paid(
        bill=bill,
        given=dict(given),
        layers={r.code: (r.base_fen, r.deductible_fen, r.amount_fen) for r in result.layers},
        waived_fen=result.waived_fen,
        funds_fen=result.funds_total_fen,
        patient_fen=result.patient_pays_fen,
        patient_in_fen=result.patient_in_policy_fen,
        patient_out_fen=result.patient_out_of_policy_fen,
        deltas={k: v for k, v in result.deltas.items() if k != SETTLED_KEY},
    )
