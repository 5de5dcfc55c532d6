"""Admitting a patient: resolve the person's status, decide pay-after-treatment under the policy
in force, record the answer once per (hospital, visit id), book findings in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from functools import partial
from typing import Any

from service.admissions.errors import AdmissionConflict, AdmissionNotFound, AdmissionReversed
from service.admissions.models import Admission
from service.admissions.responses import admission_body
from service.admissions.rules import Assessment, assess
from service.admissions.schemas import AdmissionCreate
from service.base import utcnow
from service.china_time import local_date
from service.dates import DateWindow
from service.digests import canonical_json
from service.identity import IdHasher, ResidentId, identify, mask_name
from service.money import yuan_to_fen
from service.observability import info
from service.persons.person_status import PersonStatus
from service.persons.service import Lookup, resolve_status
from service.persons.snapshot import snapshot_in_date
from service.policy import CompiledPolicy, Visit, points_for
from service.policy_versions.catalog import PolicyCatalog
from service.recorded import Recorded
from service.regions.directory import HospitalDirectory, HospitalRef
from service.regions.service import in_pooling_region, location_of
from service.unit_of_work import UnitOfWork
from service.violations.ledger import Finding

log = logging.getLogger("settlecheck.admissions")


@dataclass(frozen=True, slots=True)
class AdmissionContext:
    """What the app hands the service: how to look a person up, the policies, the hasher,
    and the plausible window for the dates a caller sends (service/dates.py)."""

    lookup: Lookup
    catalog: PolicyCatalog
    hospitals: HospitalDirectory
    hasher: IdHasher
    window: DateWindow


async def admit(
    uow: UnitOfWork,
    *,
    ctx: AdmissionContext,
    hospital_code: str,
    actor: str,
    body: AdmissionCreate,
) -> Recorded[dict[str, Any]]:
    # Before the registry is asked or a row written, whichever interface sent it (ADR 0012).
    ctx.window.moment(body.admitted_at, field="admitted_at")
    normalised, resident = identify(ctx.hasher, body.id_number)
    request_hash = _request_hash(ctx.hasher, body, normalised)
    # The registry is asked before the first statement: on SQLite the first statement takes
    # the write lock, which must not be held across a network call.
    status = await resolve_status(
        uow.session,
        lookup=ctx.lookup,
        id_number=normalised,
        person_key=resident.person_key,
        insured_county=body.insured_county,
    )
    hospital = await ctx.hospitals.get(uow.session, hospital_code)
    insured = insured_county_of(status, reported=body.insured_county)
    admitted_on = local_date(body.admitted_at)
    policy = await ctx.catalog.for_region(uow.session, insured_region=insured, on=admitted_on)
    in_date = snapshot_in_date(status, policy=policy, on=admitted_on)
    if in_date is not status:
        # Too old to confirm cover, the snapshot says nothing, not even the county (ADR 0011).
        status, insured = in_date, body.insured_county
        policy = await ctx.catalog.for_region(uow.session, insured_region=insured, on=admitted_on)
    visit = _visit(body, hospital, admitted_on, policy, insured)
    deposit_intended_fen = yuan_to_fen(body.deposit_intended)
    judge = partial(
        assess,
        status=status,
        policy=policy,
        visit=visit,
        reported_county=body.insured_county,
        deposit_intended_fen=deposit_intended_fen,
    )
    event = _event("admitted", actor, {"source": status.source.value})

    def admission(assessment: Assessment) -> tuple[dict[str, Any], Callable[..., Any]]:
        row = _admission(
            body,
            hospital,
            resident,
            status,
            assessment,
            policy,
            request_hash,
            # as judged, not worked out again
            insured_county=insured,
            location=visit.location,
            deposit_intended_fen=deposit_intended_fen,
        )
        answer = partial(admission_body, row, assessment=assessment, policy=policy, status=status)
        row["response"] = answer(violations=[])
        return row, answer

    assessment = judge()
    row, answer = admission(assessment)
    if assessment.eligible:
        # An eligible patient marked as a defaulter at this hospital (ADR 0014) is judged again;
        # the mark is read in the insert's own statement (PostgreSQL), which writes nothing then.
        marked, admission_id = await uow.admissions.insert_unless_marked(row, event=event)
        if marked:
            assessment = judge(defaulter=True)
            row, answer = admission(assessment)
            admission_id = await uow.admissions.insert_once(row, event=event)
    else:
        admission_id = await uow.admissions.insert_once(row, event=event)
    if admission_id is None:  # admitted before (a retry), or by a racing retry that won
        existing = await uow.admissions.find(hospital_code=hospital_code, visit_id=body.visit_id)
        assert existing is not None
        return _replay(existing, request_hash)
    if assessment.findings:
        # Last: booking locks the county's ledger chain until the commit, so nothing else
        # of this admission should run while it is held.
        violations = await _book(uow, admission_id, row, assessment, policy, status)
        row["response"] = answer(violations=violations)
        await uow.admissions.set_response(admission_id, row["response"])
    info(log, "admission recorded", (), {"visit_id": body.visit_id, "hospital": hospital_code})
    return Recorded(row["response"], replayed=False)


def _replay(existing: Admission, request_hash: str) -> Recorded[dict[str, Any]]:
    if existing.state == "reversed":
        # Its stored answer says "admitted": replaying it would tell the desk the patient is in.
        raise AdmissionReversed(
            f"visit {existing.visit_id} was admitted and then reversed; "
            "admit the patient again under a new visit id",
            field="visit_id",
        )
    if existing.request_hash != request_hash:
        raise AdmissionConflict(
            f"visit {existing.visit_id} was admitted with a different body; "
            "use a new visit id or resend the original body",
            field="visit_id",
        )
    return Recorded(existing.response, replayed=True)


def _request_hash(hasher: IdHasher, body: AdmissionCreate, normalised: str) -> str:
    # Keyed: the hash covers the ID number, so a plain digest could be reversed by enumeration.
    payload = body.model_dump(mode="json") | {"id_number": normalised}
    return hasher.key_of(canonical_json(payload))


def insured_county_of(status: PersonStatus, *, reported: str) -> str:
    """The county whose policy, location and deposit rule the visit is decided on: the one the
    registry (or the roster snapshot) records when it knows the person, else the one the HIS
    reported. A HIS's wrong county would otherwise make an in-county patient "not eligible",
    which the service never says without cause (ADR 0028); the HIS's value is kept in the
    INSURED_COUNTY_MISMATCH warning and its finding."""
    return status.record.insured_county if status.record is not None else reported


def _visit(
    body: AdmissionCreate,
    hospital: HospitalRef,
    admitted_on: date,
    policy: CompiledPolicy,
    insured_county: str,
) -> Visit:
    location = location_of(hospital_county=hospital.county_code, insured_county=insured_county)
    return Visit(
        visit_type=body.visit_type,
        hospital_level=hospital.level,
        hospital_tier=hospital.tier,
        location=location,
        in_pooling_region=in_pooling_region(
            policy,
            location=location,
            hospital_county=hospital.county_code,
            insured_county=insured_county,
        ),
        referred=body.referral.referred,
        designated=hospital.designated,
        admitted_on=admitted_on,
        discharged_on=admitted_on,
    )


def _admission(
    body: AdmissionCreate,
    hospital: HospitalRef,
    resident: ResidentId,
    status: PersonStatus,
    assessment: Assessment,
    policy: CompiledPolicy,
    request_hash: str,
    *,
    insured_county: str,
    location: str,
    deposit_intended_fen: int,
) -> dict[str, Any]:
    """The admission's row, as the values of its columns."""
    return {
        "hospital_code": hospital.code,
        "county_code": hospital.county_code,
        "visit_id": body.visit_id,
        "person_key": resident.person_key,
        "person_masked": resident.masked,
        "name_masked": mask_name(body.name),
        # the county decided on, so the settlement selects the same policy and pool
        "insured_county": insured_county,
        "visit_type": body.visit_type,
        "admitted_at": body.admitted_at.astimezone(UTC),
        "location": location,
        "referred": body.referral.referred,
        "referral_no": body.referral.referral_no,
        "categories": sorted({c.code for c in assessment.categories}),
        "eligible": assessment.eligible,
        "eligibility": {"reasons": list(assessment.reasons), "covered": assessment.covered},
        "deposit_intended_fen": deposit_intended_fen,
        "deposit_allowed_fen": assessment.deposit_allowed_fen,
        "deposit_taken_fen": 0,
        "status_source": status.source.value,
        "policy_hash": policy.content_hash,
        "request_hash": request_hash,
        "response": {},
        "state": "admitted",
        "created_at": utcnow(),
        "reversed_at": None,
        "reversal_reason": None,
    }


async def _book(
    uow: UnitOfWork,
    admission_id: int,
    admission: dict[str, Any],
    assessment: Assessment,
    policy: CompiledPolicy,
    status: PersonStatus,
) -> list[tuple[int, str, str]]:
    booked = []
    for notice in assessment.findings:
        assert notice.rule is not None
        points = points_for(policy, notice.rule)
        evidence = {
            "visit_id": admission["visit_id"],
            "admitted_on": local_date(admission["admitted_at"]).isoformat(),
            "visit_type": admission["visit_type"],
            "insured_county": admission["insured_county"],
            "categories": admission["categories"],
            "status_source": status.source.value,
            "snapshot_taken_at": status.snapshot_taken_at.isoformat()
            if status.snapshot_taken_at
            else None,
            "warning": notice.code,
            **(notice.evidence or {}),
        }
        violation = await uow.violations.book(
            Finding(
                rule_code=notice.rule,
                hospital_code=admission["hospital_code"],
                county_code=admission["county_code"],
                source="admission",
                evidence=evidence,
                points=points,
                visit_id=admission["visit_id"],
                person_key=admission["person_key"],
                person_masked=admission["person_masked"],
                source_ref=f"admission:{admission_id}",
                policy_hash=policy.content_hash,
                event_on=local_date(admission["admitted_at"]),
            ),
        )
        assert violation.id is not None
        booked.append((violation.id, notice.rule, str(points)))
    return booked


def _event(kind: str, actor: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event's columns but its admission's id (the store adds it)."""
    return {
        "kind": kind,
        "actor": actor[:64],
        "detail": detail,
        "at": utcnow(),
    }


async def get_admission(uow: UnitOfWork, *, hospital_code: str, visit_id: str) -> Admission:
    admission = await uow.admissions.find(hospital_code=hospital_code, visit_id=visit_id)
    if admission is None:
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission
