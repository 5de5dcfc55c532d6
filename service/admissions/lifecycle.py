"""After admission: deposits the HIS reports as taken, and reversal of the admission."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from service.admissions.errors import (
    AdmissionNotFound,
    AdmissionReversed,
    AdmissionSettled,
    DepositConflict,
    InvalidDeposit,
)
from service.admissions.models import Admission, AdmissionDeposit, AdmissionEvent
from service.admissions.schemas import DepositCreate, DepositPublic, ViolationRef
from service.base import utcnow
from service.china_time import local_date
from service.dates import DateWindow
from service.db import Duplicate
from service.digests import request_digest
from service.idtext import mask_in_prose
from service.money import fen_to_yuan, yuan_to_fen
from service.policy import CompiledPolicy, points_for
from service.policy_versions.catalog import PolicyCatalog
from service.recorded import Recorded
from service.unit_of_work import UnitOfWork
from service.violations.ledger import Finding

log = logging.getLogger("settlecheck.admissions")


async def _locked_admission(uow: UnitOfWork, *, hospital_code: str, visit_id: str) -> Admission:
    """The hospital's own admission, row-locked (PostgreSQL; SQLite writers are serialised)."""
    admission = await uow.admissions.find(
        hospital_code=hospital_code, visit_id=visit_id, for_update=True
    )
    if admission is None:
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission


async def report_deposit(
    uow: UnitOfWork,
    *,
    catalog: PolicyCatalog,
    window: DateWindow,
    hospital_code: str,
    actor: str,
    visit_id: str,
    body: DepositCreate,
) -> Recorded[dict[str, Any]]:
    """Record a deposit actually taken; book DEPOSIT_CHARGED if the patient was eligible.
    Idempotent per receipt number."""
    admission = await _locked_admission(uow, hospital_code=hospital_code, visit_id=visit_id)
    assert admission.id is not None
    request_hash = request_digest(body.model_dump(mode="json"))
    existing = await uow.admissions.find_deposit(admission.id, body.receipt_no)
    if existing is not None:
        return Recorded(_replay(existing, request_hash), replayed=True)
    if admission.state != "admitted":
        raise AdmissionReversed(f"admission {visit_id} was reversed; no deposit can be reported")
    window.deposit(
        body.taken_at,
        admitted_at=admission.admitted_at,
        discharged_at=await uow.settlements.active_discharge(admission.id),
    )
    amount_fen = yuan_to_fen(body.amount)
    if amount_fen <= 0:
        raise InvalidDeposit("a deposit is more than 0.00", field="amount")
    taken_before = admission.deposit_taken_fen
    refund_fen = _excess(admission, taken_before=taken_before, amount_fen=amount_fen)
    deposit = AdmissionDeposit(
        admission_id=admission.id,
        receipt_no=body.receipt_no,
        amount_fen=amount_fen,
        taken_at=body.taken_at,
        refund_required=refund_fen > 0,
        request_hash=request_hash,
        response={},
    )
    try:
        await uow.admissions.add_deposit(deposit)
    except Duplicate:
        winner = await uow.admissions.find_deposit(admission.id, body.receipt_no)
        if winner is None:
            raise
        return Recorded(_replay(winner, request_hash), replayed=True)
    violation = None
    if refund_fen > 0:
        policy = await _policy_of(uow, catalog, admission)
        violation = await _book_deposit_charged(
            uow, admission, deposit, policy, taken_before=taken_before, refund_fen=refund_fen
        )
        deposit.violation_id = violation.id
    admission.deposit_taken_fen = taken_before + amount_fen
    deposit.response = _outcome(admission, deposit, refund_fen, violation).model_dump(mode="json")
    event = AdmissionEvent(
        admission_id=admission.id,
        kind="deposit_reported",
        actor=actor[:64],
        detail={"receipt_no": body.receipt_no, "amount_fen": amount_fen},
    )
    await uow.admissions.save(admission, deposit, event)
    return Recorded(deposit.response, replayed=False)


def _excess(admission: Admission, *, taken_before: int, amount_fen: int) -> int:
    """The part of this deposit above what an eligible patient may be asked for."""
    if admission.eligible is not True or admission.deposit_allowed_fen is None:
        return 0
    over = taken_before + amount_fen - admission.deposit_allowed_fen
    return max(0, min(amount_fen, over))


def _replay(existing: AdmissionDeposit, request_hash: str) -> dict[str, Any]:
    if existing.request_hash != request_hash:
        raise DepositConflict(
            f"receipt {existing.receipt_no} was already reported with a different body",
            field="receipt_no",
        )
    return existing.response


async def _policy_of(
    uow: UnitOfWork, catalog: PolicyCatalog, admission: Admission
) -> CompiledPolicy:
    if admission.policy_hash:
        policy = await catalog.by_hash(uow.session, admission.policy_hash)
        if policy is not None:
            return policy
    return await catalog.for_region(
        uow.session, insured_region=admission.insured_county, on=local_date(admission.admitted_at)
    )


async def _book_deposit_charged(
    uow: UnitOfWork,
    admission: Admission,
    deposit: AdmissionDeposit,
    policy: CompiledPolicy,
    *,
    taken_before: int,
    refund_fen: int,
) -> Any:
    return await uow.violations.book(
        Finding(
            rule_code="DEPOSIT_CHARGED",
            hospital_code=admission.hospital_code,
            county_code=admission.county_code,
            source="deposit",
            evidence={
                "visit_id": admission.visit_id,
                "receipt_no": deposit.receipt_no,
                "amount_fen": deposit.amount_fen,
                "taken_at": deposit.taken_at.isoformat(),
                "deposit_allowed_fen": admission.deposit_allowed_fen,
                "deposit_taken_before_fen": taken_before,
                "refund_fen": refund_fen,
                "categories": admission.categories,
                "eligibility_reasons": admission.eligibility.get("reasons", []),
                "status_source": admission.status_source,
            },
            points=points_for(policy, "DEPOSIT_CHARGED"),
            severity="high",
            visit_id=admission.visit_id,
            person_key=admission.person_key,
            person_masked=admission.person_masked,
            source_ref=f"deposit:{deposit.id}",
            policy_hash=policy.content_hash,
            event_on=local_date(deposit.taken_at),
        ),
    )


def _outcome(
    admission: Admission, deposit: AdmissionDeposit, refund_fen: int, violation: Any
) -> DepositPublic:
    if refund_fen > 0:
        message = (
            f"The patient is eligible for pay-after-treatment (先诊疗后付费): refund "
            f"{fen_to_yuan(refund_fen)} yuan now. A DEPOSIT_CHARGED finding was booked."
        )
    elif admission.eligible is None:
        message = (
            "The patient's status was unknown at admission: if they are confirmed eligible, "
            "the deposit must be refunded."
        )
    else:
        message = "Deposit recorded."
    return DepositPublic(
        visit_id=admission.visit_id,
        receipt_no=deposit.receipt_no,
        amount=fen_to_yuan(deposit.amount_fen),
        amount_fen=deposit.amount_fen,
        refund_required=refund_fen > 0,
        refund=fen_to_yuan(refund_fen),
        refund_fen=refund_fen,
        message=message,
        violation=ViolationRef(
            id=violation.id,
            rule_code=violation.rule_code,
            points=str(Decimal(violation.points_hundredths) / 100),
        )
        if violation is not None
        else None,
        deposit_taken_total=fen_to_yuan(admission.deposit_taken_fen),
    )


async def reverse_admission(
    uow: UnitOfWork, *, hospital_code: str, actor: str, visit_id: str, reason: str
) -> Recorded[Admission]:
    """Cancel the registration (冲销). Idempotent; findings already booked stay in the ledger.
    Refused while the visit has an active settlement: reverse the settlement first. A second
    reversal of the same visit is a replay (nothing written, ADR 0030)."""
    admission = await _locked_admission(uow, hospital_code=hospital_code, visit_id=visit_id)
    if admission.state == "reversed":
        return Recorded(admission, replayed=True)
    reason = mask_in_prose(reason)  # whichever interface sent it (service/idtext.py)
    assert admission.id is not None
    # The admission row is locked first, as a settlement holds it (settlements/store.py):
    # a settlement that got there first has committed by now, and this read sees it.
    visit = await uow.settlements.read_visit(hospital_code=hospital_code, visit_id=visit_id)
    # Any active settlement, not only the latest: a stay settled in stages whose last stage was
    # reversed still has its earlier stages settled (and their shares owed).
    active = next((e for e in visit.history if e.active), None) if visit is not None else None
    if active is not None:
        raise AdmissionSettled(
            f"visit {visit_id} has active settlement {active.id} ({active.his_settlement_id}); "
            "reverse the settlement before the admission",
            field="visit_id",
        )
    admission.state = "reversed"
    admission.reversed_at = utcnow()
    admission.reversal_reason = reason
    event = AdmissionEvent(
        admission_id=admission.id, kind="reversed", actor=actor[:64], detail={"reason": reason}
    )
    await uow.admissions.save(admission, event)
    log.info(
        "admission reversed",
        extra={"fields": {"visit_id": visit_id, "hospital": hospital_code, "actor": actor}},
    )
    return Recorded(admission, replayed=False)
