"""What settlement calls: a receivable when a share is left to the patient under
pay-after-treatment (its row, which the settlement's store writes with the settlement), and its
cancellation when the settlement is reversed. Both run in the settlement's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.base import utcnow
from service.receivables.defaulters import lift_with_its_receivable
from service.receivables.terms import Terms
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class SettledShare:
    hospital_code: str
    county_code: str
    visit_id: str
    person_key: str
    person_masked: str
    patient_pays_fen: int
    discharged_at: datetime


def receivable_row(share: SettledShare, terms: Terms | None) -> dict[str, Any] | None:
    """The receivable's columns, all but its settlement's id (the settlement's store writes
    it with the settlement, in the same statement on PostgreSQL: ADR 0022), or None when no
    share is left to the patient under pay-after-treatment. Plain values, no ORM instance."""
    if terms is None or share.patient_pays_fen <= 0:
        return None
    return {
        "hospital_code": share.hospital_code,
        "county_code": share.county_code,
        "visit_id": share.visit_id,
        "person_key": share.person_key,
        "person_masked": share.person_masked,
        "amount_due_fen": share.patient_pays_fen,
        "paid_fen": 0,
        "discharged_at": share.discharged_at,
        "due_on": terms.due_on(share.discharged_at),
        "terms": terms.as_json(),
        "status": "open",
        "reversal_id": None,
        "refund_due_fen": 0,
        "cancelled_at": None,
        "created_at": utcnow(),
    }


async def on_reversed(
    uow: UnitOfWork, *, settlement_id: int, reversal_id: int
) -> tuple[int, int] | None:
    """Cancel the receivable: (its id, what was paid and must be refunded), or None; a defaulter
    mark made on it is lifted with it."""
    cancelled = await uow.receivables.cancel(
        settlement_id=settlement_id, reversal_id=reversal_id, now=utcnow()
    )
    if cancelled is not None:
        await lift_with_its_receivable(uow, cancelled[0])
    return cancelled
