"""挂账销号: who may move a violation from one status to the next.

    open ──hospital──▶ rectifying ──hospital──▶ rectified ──auditor──▶ verified (closed)
                             ▲                      │                      │
                             └──auditor rejects─────┘      auditor reopens─┘──▶ open

Every change is a chained transition (ViolationStore.transition); nothing is edited in place
except the violation's status projection, which verify checks against the latest transition.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.auth import Principal, Role
from service.idtext import mask_in_prose, refuse_resident_id
from service.recorded import Recorded
from service.unit_of_work import UnitOfWork
from service.violations.errors import InvalidTransition, NoteRequired, TransitionForbidden
from service.violations.ledger import StatusChange
from service.violations.models import Violation, ViolationStatus, ViolationTransition

S = ViolationStatus
OWNER, AUDITOR = "owner", "auditor"


@dataclass(frozen=True, slots=True)
class Step:
    who: str  # OWNER: the hospital that owns the violation; AUDITOR: an auditor in scope
    note_required: bool = False
    label: str = ""


STEPS: dict[tuple[str, str], Step] = {
    (S.OPEN, S.RECTIFYING): Step(OWNER, label="开始整改"),
    (S.RECTIFYING, S.RECTIFIED): Step(OWNER, label="整改完成"),
    (S.RECTIFIED, S.VERIFIED): Step(AUDITOR, label="核验销号"),
    (S.RECTIFIED, S.RECTIFYING): Step(AUDITOR, note_required=True, label="退回整改"),
    (S.VERIFIED, S.OPEN): Step(AUDITOR, note_required=True, label="重新挂账"),
}


def may_take(principal: Principal, violation: Violation, step: Step) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if step.who == OWNER:
        return (
            principal.role is Role.HOSPITAL and principal.hospital_code == violation.hospital_code
        )
    return principal.role is Role.AUDITOR and principal.sees_hospital(
        violation.hospital_code, violation.county_code
    )


def allowed_next(principal: Principal, violation: Violation) -> list[str]:
    return [
        to
        for (frm, to), step in STEPS.items()
        if frm == violation.status and may_take(principal, violation, step)
    ]


def check_step(principal: Principal, violation: Violation, *, to_status: str, note: str) -> None:
    step = STEPS.get((violation.status, to_status))
    if step is None:
        raise InvalidTransition(
            f"a violation cannot go from {violation.status} to {to_status}", field="to_status"
        )
    if not may_take(principal, violation, step):
        who = "the hospital that owns it" if step.who == OWNER else "an auditor of its region"
        raise TransitionForbidden(f"{violation.status} → {to_status} is taken by {who} or an admin")
    if step.note_required and not note.strip():
        raise NoteRequired(f"{violation.status} → {to_status} needs a reason", field="note")


async def move(
    uow: UnitOfWork,
    *,
    principal: Principal,
    violation: Violation,
    to_status: str,
    note: str = "",
    evidence_ref: str | None = None,
) -> Recorded[ViolationTransition]:
    """Check and chain one status change. The chain head is locked before the status is read,
    so two racing changes of one violation are serialised and the second sees the first.
    The same change again by the same caller, the violation still where it took it, is a
    replay (ADR 0030): a caller retrying after a timeout is told it was done, not refused."""
    # The console posts its form here directly: the API model's rule again (service/idtext.py).
    note = mask_in_prose(note)
    if evidence_ref is not None:
        refuse_resident_id(evidence_ref, field="evidence_ref")
    await uow.violations.lock_chain(violation.chain)
    await uow.violations.refresh(violation)
    change = StatusChange(
        to_status=to_status, actor=principal.label, note=note.strip(), evidence_ref=evidence_ref
    )
    if violation.status == to_status:  # no step stays put: a retry, or a refusal
        assert violation.id is not None
        latest = await uow.violations.latest_transition(violation.id)
        if latest is not None and _same_change(latest, change):
            return Recorded(latest, replayed=True)
    check_step(principal, violation, to_status=to_status, note=note)
    return Recorded(await uow.violations.transition(violation, change), replayed=False)


def _same_change(made: ViolationTransition, asked: StatusChange) -> bool:
    return (made.to_status, made.actor, made.note, made.evidence_ref) == (
        asked.to_status,
        asked.actor,
        asked.note,
        asked.evidence_ref,
    )
