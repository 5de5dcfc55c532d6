"""What settlement calls: a receivable when a share is left to the patient under
pay-after-treatment, and its cancellation when the settlement is reversed. Both run in the
settlement's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.base import utcnow
from service.receivables.models import Receivable
from service.receivables.terms import Terms
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class SettledShare:
    settlement_id: int
    hospital_code: str
    county_code: str
    visit_id: str
    person_key: str
    person_masked: str
    patient_pays_fen: int
    discharged_at: datetime


async def on_settled(uow: UnitOfWork, *, share: SettledShare, terms: Terms | None) -> None:
    if terms is None or share.patient_pays_fen <= 0:
        return
    await uow.receivables.open(
        Receivable(
            settlement_id=share.settlement_id,
            hospital_code=share.hospital_code,
            county_code=share.county_code,
            visit_id=share.visit_id,
            person_key=share.person_key,
            person_masked=share.person_masked,
            amount_due_fen=share.patient_pays_fen,
            paid_fen=0,
            discharged_at=share.discharged_at,
            due_on=terms.due_on(share.discharged_at),
            terms=terms.as_json(),
            status="open",
            refund_due_fen=0,
        ),
    )


async def on_reversed(
    uow: UnitOfWork, *, settlement_id: int, reversal_id: int
) -> tuple[int, int] | None:
    """Cancel the receivable: (its id, what was paid and must be refunded), or None."""
    return await uow.receivables.cancel(
        settlement_id=settlement_id, reversal_id=reversal_id, now=utcnow()
    )
