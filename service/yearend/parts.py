"""A stay split at a plan-year end (`cross_year: split`) in a year-end run: each part counts in
its own plan year, as it moved that year's accumulators (ADR 0018), so December's part is
topped up in last year's run and January's in this year's (ADR 0021, amendment).

Settlements stored before the parts named their in-catalogue figures cannot be cut again
exactly (a split may have used the bill's amounts by date, which are not stored): such a stay
counts whole in its discharge year, as every stay did before. The what-if's "now" year-end
reads the same parts (`year_shares`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from service.money import yuan_to_fen
from service.policy import Bill, SettlementResult
from service.policy.whatif import YearShare

__all__ = ["counted_in", "year_shares"]

_FIGURES = ("total", "in_policy", "patient_pays", "patient_in_policy")


def _parts(result: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The stored answer's year parts, if every one names the figures a run counts."""
    parts: Sequence[Mapping[str, Any]] = result.get("year_parts") or ()
    if all(part.get(name) is not None for part in parts for name in _FIGURES):
        return parts
    return ()


def year_shares(stored: Mapping[str, Any]) -> tuple[YearShare, ...]:
    """A stored answer's year parts as the what-if's year-end "now" counts them, each in its own
    year as a run does (``counted_in``); () for a stay a run counts whole in its discharge
    year."""
    out = []
    for part in _parts(stored):
        fen = {name: yuan_to_fen(Decimal(str(part[name]))) for name in _FIGURES}
        out.append(
            YearShare(
                int(part["year"]),
                fen["total"],
                fen["in_policy"],
                fen["patient_pays"],
                fen["patient_in_policy"],
            )
        )
    return tuple(out)


def counted_in(
    plan_year: int,
    *,
    discharge_year: int,
    stored: Mapping[str, Any],
    bill: Bill,
    result: SettlementResult,
) -> tuple[Bill, SettlementResult] | None:
    """What of a settlement (its bill and result as a whole, its stored answer) a run of
    ``plan_year`` counts: the whole of a stay in one year, its part in ``plan_year`` of a split
    one, None if it has no part there."""
    parts = _parts(stored)
    if not parts:
        return (bill, result) if discharge_year == plan_year else None
    part = next((p for p in parts if int(p["year"]) == plan_year), None)
    if part is None:
        return None
    fen = {name: yuan_to_fen(Decimal(str(part[name]))) for name in _FIGURES}
    total, inside = fen["total"], fen["in_policy"]
    patient, patient_inside = fen["patient_pays"], fen["patient_in_policy"]
    # the layers stay the whole stay's: a run reads only the patient's shares
    return Bill(total, inside, total - inside), result._replace(
        total_fen=total,
        funds_total_fen=yuan_to_fen(Decimal(str(part["funds"]))),
        patient_pays_fen=patient,
        patient_in_policy_fen=patient_inside,
        patient_out_of_policy_fen=patient - patient_inside,
    )
