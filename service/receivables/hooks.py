"""What settlement calls: a receivable when a share is left to the patient under
pay-after-treatment (its row, which the settlement's store writes with the settlement), and its
cancellation when the settlement is reversed; for a stay settled in stages (中途结算), the
stages' shares falling due when the stay is discharged, and not due again when that discharge
is reversed (ADR 0025). All run in the settlement's transaction."""

from __future__ import annotations

from collections.abc import Sequence
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
    mid: bool = False  # a stage (中途结算): the patient is still in the ward


def receivable_row(share: SettledShare, terms: Terms | None) -> dict[str, Any] | None:
    """The receivable's columns, all but its settlement's id (the settlement's store writes
    it with the settlement, in the same statement on PostgreSQL: ADR 0022), or None when no
    share is left to the patient under pay-after-treatment. Plain values, no ORM instance.
    A stage's share is owed but not due: 先诊疗后付费 asks nothing of a patient in the ward, so
    it counts from the stay's discharge, which the final settlement brings (`on_discharged`)."""
    if terms is None or share.patient_pays_fen <= 0:
        return None
    discharged_at = None if share.mid else share.discharged_at
    return {
        "hospital_code": share.hospital_code,
        "county_code": share.county_code,
        "visit_id": share.visit_id,
        "person_key": share.person_key,
        "person_masked": share.person_masked,
        "amount_due_fen": share.patient_pays_fen,
        "paid_fen": 0,
        "discharged_at": discharged_at,
        "due_on": None if discharged_at is None else terms.due_on(discharged_at),
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


async def on_discharged(
    uow: UnitOfWork, *, stage_settlement_ids: Sequence[int], discharged_at: datetime
) -> None:
    """The stay's final settlement: each active stage's share falls due by its own terms (those
    it was opened with: a later policy never changes a debt already owed), counted from the
    stay's discharge."""
    if not stage_settlement_ids:
        return
    waiting = await uow.receivables.undischarged(stage_settlement_ids)
    await uow.receivables.set_discharge(
        [(rid, discharged_at, Terms.of(terms).due_on(discharged_at)) for rid, terms in waiting]
    )


REOPENED = "出院结算已冲销，应收款尚未到期 (the discharge was reversed: the share is not due)"


async def on_discharge_reversed(
    uow: UnitOfWork, *, stage_settlement_ids: Sequence[int], reversal_id: int
) -> None:
    """The final settlement reversed: the stay is open again (the HIS settles a corrected final
    next), so its stages' shares are not due until then; a defaulter mark resting on one of
    them is lifted, as it is with a cancelled receivable, and an instalment schedule agreed on
    that discharge falls with it (a new one is agreed on the corrected discharge)."""
    if not stage_settlement_ids:
        return
    reopened = await uow.receivables.clear_discharge(stage_settlement_ids)
    await uow.receivables.drop_schedules(reopened, reversal_id=reversal_id, now=utcnow())
    for receivable_id in reopened:
        await lift_with_its_receivable(uow, receivable_id, reason=REOPENED)
